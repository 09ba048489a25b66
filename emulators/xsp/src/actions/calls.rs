//! `GET user/{u}/calls` (§5.6): the user's active calls. The model has no call table yet,
//! so the list is always empty (but schema-valid); call commands are not implemented.

use bwlab_model::User;
use bwlab_xsi::documents::calls::Calls;

use crate::Shared;
use crate::errors::{Fail, Resp};
use crate::journal::Exchange;

pub(crate) fn list(_shared: &Shared, ex: &Exchange, _u: &User) -> Result<Resp, Fail> {
    Ok(super::ok_doc(ex, &Calls { calls: Vec::new() }))
}
