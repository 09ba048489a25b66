//! The service names the Webex-for-BroadWorks guides have clients look up.

fn under(prefix: &str, domain: &str) -> String {
    format!("{prefix}.{}", domain.trim().trim_end_matches('.'))
}

/// `_xsi-client._tcp.<domain>`: the Webex App finds its XSPs here at sign-in (SRV, one IP
/// per target, distinct priorities).
pub fn xsi_client(domain: &str) -> String {
    under("_xsi-client._tcp", domain)
}

/// `_pushnotification-client._tcp.<domain>`: the Application Server finds its Notification
/// Push Servers here.
pub fn push_notification_client(domain: &str) -> String {
    under("_pushnotification-client._tcp", domain)
}

/// `_sip._tls.<domain>`: RoomOS SIP discovery (after the domain's NAPTR, before plain A).
pub fn sip_tls(domain: &str) -> String {
    under("_sip._tls", domain)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_follow_the_guides() {
        assert_eq!(
            super::xsi_client("lab.example."),
            "_xsi-client._tcp.lab.example"
        );
        assert_eq!(
            super::push_notification_client("lab.example"),
            "_pushnotification-client._tcp.lab.example"
        );
        assert_eq!(super::sip_tls(" lab.example"), "_sip._tls.lab.example");
    }
}
