//! `GET /versions`: the release baseline from the node's profile.

use bwlab_xsi::documents::versions::{VersionSet, Versions};

use crate::Shared;
use crate::errors::Resp;
use crate::journal::Exchange;

pub(crate) fn get(shared: &Shared, ex: &Exchange) -> Resp {
    let baseline = shared.profile.xsi().baseline.to_string();
    let doc = Versions {
        commands: VersionSet::baseline(baseline.clone()),
        event_packages: Some(VersionSet::baseline(baseline)),
    };
    super::ok_doc(ex, &doc)
}
