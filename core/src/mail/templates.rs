//! The messages the server sends, each as a plain-text and an HTML body built from one
//! template: a greeting, paragraphs, one button-like link, and a closing line. Everything
//! interpolated into the HTML is escaped.

use super::Mail;

/// One message's words, before they are laid out twice.
struct Template<'a> {
    kind: &'static str,
    to: &'a str,
    subject: String,
    greeting: String,
    paragraphs: Vec<String>,
    action: Option<(&'a str, &'a str)>,
    closing: &'a str,
}

impl Template<'_> {
    fn render(self) -> Mail {
        let mut text = format!("{}\n\n", self.greeting);
        for paragraph in &self.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        if let Some((label, url)) = self.action {
            text.push_str(&format!("{label}:\n{url}\n\n"));
        }
        text.push_str(self.closing);
        text.push_str("\n\n-- \nAI Studio\n");

        let mut html = String::from(
            "<!DOCTYPE html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5;color:#1b1b24\">",
        );
        html.push_str(&format!("<p>{}</p>", escape(&self.greeting)));
        // A paragraph keeps its line breaks (a list in a run's results).
        for paragraph in &self.paragraphs {
            html.push_str(&format!(
                "<p style=\"white-space:pre-line\">{}</p>",
                escape(paragraph)
            ));
        }
        if let Some((label, url)) = self.action {
            let url = escape(url);
            html.push_str(&format!(
                "<p><a href=\"{url}\" style=\"display:inline-block;padding:0.6em 1.2em;background:#4540c8;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p>\
                 <p style=\"font-size:0.9em;color:#555\">Or paste this address into your browser: {url}</p>",
                escape(label)
            ));
        }
        html.push_str(&format!(
            "<p>{}</p><p style=\"color:#555\">AI Studio</p></body></html>",
            escape(self.closing)
        ));
        Mail {
            to: self.to.to_owned(),
            kind: self.kind,
            subject: self.subject,
            text,
            html,
            link: self.action.map(|(_, url)| url.to_owned()),
        }
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Asks the owner of a new account to confirm the address.
pub fn verify_email(to: &str, name: &str, link: &str) -> Mail {
    Template {
        kind: "verify_email",
        to,
        subject: "Confirm your email address for AI Studio".to_owned(),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            "Someone, hopefully you, created an AI Studio account with this address. Open the link below to confirm it; you will be asked for the password you chose unless you open it in the browser you signed up in.".to_owned(),
            "The link works once, for 24 hours.".to_owned(),
        ],
        action: Some(("Confirm my address", link)),
        closing: "If you did not sign up, ignore this message: the account stays locked.",
    }
    .render()
}

/// Tells the owner of an existing account that someone tried to sign up with the address.
pub fn sign_up_attempt(to: &str, sign_in_link: &str) -> Mail {
    Template {
        kind: "sign_up_attempt",
        to,
        subject: "Someone tried to create an AI Studio account with your address".to_owned(),
        greeting: "Hello,".to_owned(),
        paragraphs: vec![
            "Someone tried to create a new AI Studio account with this email address, which already has an account. Nothing was changed.".to_owned(),
            "If it was you, sign in instead; if you forgot your password, choose \"Forgot your password?\" on the sign-in page.".to_owned(),
        ],
        action: Some(("Sign in", sign_in_link)),
        closing: "If it was not you, you can ignore this message.",
    }
    .render()
}

/// A password-reset link.
pub fn reset_password(to: &str, name: &str, link: &str) -> Mail {
    Template {
        kind: "reset_password",
        to,
        subject: "Reset your AI Studio password".to_owned(),
        greeting: format!("Hello {name},"),
        paragraphs: vec![
            "Someone asked to reset the password of your AI Studio account. Open the link below to choose a new one; every device signed in to your account will be signed out.".to_owned(),
            "The link works once, for 24 hours.".to_owned(),
        ],
        action: Some(("Choose a new password", link)),
        closing: "If you did not ask for this, ignore this message: your password stays as it is.",
    }
    .render()
}

/// An administrator's invitation.
pub fn invitation(to: &str, inviter: &str, link: &str) -> Mail {
    Template {
        kind: "invitation",
        to,
        subject: format!("{inviter} invited you to AI Studio"),
        greeting: "Hello,".to_owned(),
        paragraphs: vec![
            format!("{inviter} invited you to AI Studio, your organisation's AI portal. Open the link below to choose your name and password."),
            "The link works once, for 7 days.".to_owned(),
        ],
        action: Some(("Accept the invitation", link)),
        closing: "If you were not expecting this, you can ignore this message.",
    }
    .render()
}

/// The most of a run's results a message quotes; the rest is on the run's page.
pub const QUOTED_RESULTS_CHARS: usize = 20_000;

/// A scheduled run's results, for the schedule's owner: `results` (the run's Markdown
/// document) quoted up to [`QUOTED_RESULTS_CHARS`], a link to the run, and how to stop these
/// messages (`schedules_link`).
pub fn schedule_result(
    to: &str,
    name: &str,
    schedule: &str,
    failed: bool,
    results: &str,
    run_link: &str,
    schedules_link: &str,
) -> Mail {
    let subject = if failed {
        format!("“{schedule}” failed")
    } else {
        format!("“{schedule}” finished")
    };
    let mut paragraphs = vec![if failed {
        format!("The scheduled run of “{schedule}” failed. What it did before it stopped:")
    } else {
        format!("The scheduled run of “{schedule}” finished. Its results:")
    }];
    let quoted: String = results.chars().take(QUOTED_RESULTS_CHARS).collect();
    paragraphs.extend(
        quoted
            .split("\n\n")
            .map(str::trim)
            .filter(|paragraph| !paragraph.is_empty())
            .map(str::to_owned),
    );
    if quoted.len() < results.len() {
        paragraphs.push("(The results go on: the rest is on the run's page.)".to_owned());
    }
    let closing = format!(
        "You receive this because the schedule “{schedule}” mails its results. To stop, untick “Mail me each result” on your schedules page: {schedules_link}"
    );
    Template {
        kind: "schedule_result",
        to,
        subject,
        greeting: format!("Hello {name},"),
        paragraphs,
        action: Some(("Open the run", run_link)),
        closing: &closing,
    }
    .render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bodies_carry_the_link_and_the_html_is_escaped() {
        let mail = verify_email(
            "ada@school.org",
            "<script>alert(1)</script>",
            "https://studio.test/verify-email?token=a&b=\"c\"",
        );
        assert_eq!(mail.to, "ada@school.org");
        assert_eq!(mail.kind, "verify_email");
        assert!(
            mail.text
                .contains("https://studio.test/verify-email?token=a&b=\"c\"")
        );
        assert!(mail.text.contains("Hello <script>alert(1)</script>,"));
        assert!(!mail.html.contains("<script>"), "{}", mail.html);
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(
            mail.html
                .contains("href=\"https://studio.test/verify-email?token=a&amp;b=&quot;c&quot;\"")
        );
        assert_eq!(
            mail.link.as_deref(),
            Some("https://studio.test/verify-email?token=a&b=\"c\"")
        );
    }

    #[test]
    fn a_scheduled_result_is_quoted_up_to_its_limit_with_the_way_to_stop_it() {
        let results = format!(
            "# Digest\n\n## Papers\n\n- <b>one</b>\n- two\n\n{}",
            "x".repeat(30_000)
        );
        let mail = schedule_result(
            "ada@school.org",
            "Ada",
            "Monday digest",
            false,
            &results,
            "https://studio.test/assistants/runs/1",
            "https://studio.test/schedules",
        );
        assert_eq!(mail.subject, "“Monday digest” finished");
        assert_eq!(mail.kind, "schedule_result");
        assert!(mail.text.contains("- <b>one</b>\n- two"), "{}", mail.text);
        assert!(mail.html.contains("- &lt;b&gt;one&lt;/b&gt;\n- two"));
        assert!(mail.text.contains("the rest is on the run's page"));
        assert!(mail.text.len() < 21_000 + 1_000);
        assert!(mail.text.contains("https://studio.test/schedules"));
        assert_eq!(
            mail.link.as_deref(),
            Some("https://studio.test/assistants/runs/1")
        );

        let short = schedule_result("a@b.c", "Ada", "S", true, "## Step\n\nok", "l", "s");
        assert_eq!(short.subject, "“S” failed");
        assert!(!short.text.contains("the rest is on"));
    }
}
