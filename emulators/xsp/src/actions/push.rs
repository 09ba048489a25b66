//! `user/{u}/profile/PushNotificationRegistrations` (GET, DELETE) and `.../new` (POST).
//!
//! Only where the profile has `xsi_push_notification_registrations` (404 otherwise). The
//! token `type` and the `eventDetail` form need `xsi_push_event_detail`: without it a
//! registration carrying them is refused as not matching that release's schema (400).
//! Registrations live in the Application Server model (`Store::push_registrations`).

use bwlab_model::{PushEvent, PushParam, PushRegistration, PushToken, User};
use bwlab_profiles::Feature;
use bwlab_xsi::ErrorCode;
use bwlab_xsi::documents::push::{
    DeviceToken, PushEventDetail, PushEvents, PushNotificationRegistration,
    PushNotificationRegistrations, PushParam as XParam, PushParameters, PushTokenType,
};
use hyper::StatusCode;

use crate::Shared;
use crate::errors::{Fail, Resp, empty};
use crate::journal::Exchange;

/// Lab rule for the statuses: the spec prints 201 for both the POST and the DELETE.
const CREATED: StatusCode = StatusCode::CREATED;

fn params_out(p: &Option<Vec<PushParam>>) -> Option<Vec<XParam>> {
    p.as_ref().map(|v| {
        v.iter()
            .map(|p| XParam {
                name: p.name.clone(),
                value: p.value.clone(),
            })
            .collect()
    })
}

fn params_in(p: Option<Vec<XParam>>) -> Option<Vec<PushParam>> {
    p.map(|v| {
        v.into_iter()
            .map(|p| PushParam {
                name: p.name,
                value: p.value,
            })
            .collect()
    })
}

pub(crate) fn to_doc(r: &PushRegistration) -> PushNotificationRegistration {
    PushNotificationRegistration {
        application_id: r.application_id.clone(),
        application_version: r.application_version.clone(),
        registration_id: r.registration_id.clone(),
        device_os_type: r.device_os_type.clone(),
        device_os_version: r.device_os_version.clone(),
        device_tokens: r
            .tokens
            .iter()
            .map(|t| DeviceToken {
                token: t.token.clone(),
                token_type: match t.token_type.as_deref() {
                    Some("VoIP") => Some(PushTokenType::Voip),
                    Some("Normal") => Some(PushTokenType::Normal),
                    _ => None,
                },
                events: if t.detailed {
                    PushEvents::Details(
                        t.events
                            .iter()
                            .map(|e| PushEventDetail {
                                name: e.name.clone(),
                                silent: e.silent,
                                mutable_content: e.mutable_content,
                                parameters: (e.ios_params.is_some()
                                    || e.android_params.is_some()
                                    || e.app_data_params.is_some())
                                .then(|| PushParameters {
                                    ios: params_out(&e.ios_params),
                                    android: params_out(&e.android_params),
                                    app_data: params_out(&e.app_data_params),
                                }),
                            })
                            .collect(),
                    )
                } else {
                    PushEvents::Names(t.events.iter().map(|e| e.name.clone()).collect())
                },
            })
            .collect(),
    }
}

fn from_doc(d: PushNotificationRegistration) -> PushRegistration {
    PushRegistration {
        application_id: d.application_id,
        application_version: d.application_version,
        registration_id: d.registration_id,
        device_os_type: d.device_os_type,
        device_os_version: d.device_os_version,
        tokens: d
            .device_tokens
            .into_iter()
            .map(|t| {
                let (detailed, events) = match t.events {
                    PushEvents::Names(n) => (
                        false,
                        n.into_iter()
                            .map(|name| PushEvent {
                                name,
                                ..Default::default()
                            })
                            .collect(),
                    ),
                    PushEvents::Details(d) => (
                        true,
                        d.into_iter()
                            .map(|e| {
                                let p = e.parameters.unwrap_or_default();
                                PushEvent {
                                    name: e.name,
                                    silent: e.silent,
                                    mutable_content: e.mutable_content,
                                    ios_params: params_in(p.ios),
                                    android_params: params_in(p.android),
                                    app_data_params: params_in(p.app_data),
                                }
                            })
                            .collect(),
                    ),
                };
                PushToken {
                    token: t.token,
                    token_type: t.token_type.map(|k| k.as_str().to_owned()),
                    detailed,
                    events,
                }
            })
            .collect(),
    }
}

fn param(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// `GET`: all registrations, or the one named by `?registrationId=`.
pub(crate) fn list(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let params = super::directories::query_params(ex)?;
    let only = param(&params, "registrationId");
    let registrations = shared
        .store
        .push_registrations(u.idx)?
        .iter()
        .filter(|r| only.as_ref().is_none_or(|id| *id == r.registration_id))
        .map(to_doc)
        .collect();
    Ok(super::ok_doc(
        ex,
        &PushNotificationRegistrations { registrations },
    ))
}

/// `POST .../new`: registers (replacing a registration with the same `registrationId`).
pub(crate) fn register(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let doc: PushNotificationRegistration = super::services::parse(ex)?;
    if !shared.profile.supports(Feature::XsiPushEventDetail)
        && doc
            .device_tokens
            .iter()
            .any(|t| t.token_type.is_some() || matches!(t.events, PushEvents::Details(_)))
    {
        return Err(Fail::detail(
            ErrorCode::InvalidDocument,
            "token type and eventDetail are not supported by this release",
        ));
    }
    shared.store.add_push_registration(u.idx, from_doc(doc))?;
    crate::events::notify(shared, |a| a.push_registrations_changed(&u.user_id));
    Ok(empty(CREATED))
}

/// `DELETE [?registrationId=][&token=]`: deregisters the matching registrations (or only
/// that token of them). Without parameters every registration goes (lab rule). A
/// parameter that matches nothing is 404.
pub(crate) fn delete(shared: &Shared, ex: &Exchange, u: &User) -> Result<Resp, Fail> {
    let params = super::directories::query_params(ex)?;
    let id = param(&params, "registrationId");
    let token = param(&params, "token");
    let removed = shared
        .store
        .delete_push_registration(u.idx, id.as_deref(), token.as_deref())?;
    if removed == 0 && (id.is_some() || token.is_some()) {
        let what = id.or(token).unwrap_or_default();
        return Err(Fail::detail(ErrorCode::ResourceNotFound, what));
    }
    if removed > 0 {
        crate::events::notify(shared, |a| a.push_registrations_changed(&u.user_id));
    }
    Ok(empty(CREATED))
}
