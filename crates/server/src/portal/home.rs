//! The overview: what the register holds now, in sentences — what is in service, what is
//! blocked and why, rollbacks, incidents and anything overdue — then the contracts and the
//! organisations behind them, then how to check it all.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::words::{self, Scope};
use super::{Section, and_list, answer, count, now, page, party_link};
use crate::Instance;
use crate::render::escape;

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub async fn home(State(instance): State<Arc<Instance>>, headers: HeaderMap) -> Response {
    let result = (|| {
        let checkpoint = instance.read(|r| r.latest_checkpoint())?;
        let state = instance.state();
        let now = now(&state);
        let base = base_url(&headers);
        let example = checkpoint.size.saturating_sub(1);
        let mut body = format!(
            "<h1>AI engagements between governments and vendors</h1>\n<p class=\"lead\">A public register: who the parties are, what each contract forbids and permits, which model versions serve on what evidence, what was rolled back, and whether the rules held. Every step is an entry signed by the party that took it, in a tamper-evident log anyone can check.</p>\n<p class=\"id\">register {} · {} · as of {}</p>\n",
            escape(instance.local.origin()),
            count(checkpoint.size, "entry", "entries"),
            super::when(now)
        );
        if instance.local.simulated_clock() {
            body.push_str("<p class=\"notice\">This instance is a rehearsal: its clock is simulated, so the times its entries carry were not checked against a real clock.</p>\n");
        }
        let lines = words::summary(&state, Scope::default(), now);
        body.push_str(&words::summary_block(
            &lines,
            "Nothing is in service yet: no contract has a deployment.",
        ));
        body.push_str("<h2>Contracts and who answers for them</h2>\n");
        if state.contracts().next().is_none() {
            body.push_str("<p>No contract has been published yet.</p>\n");
        } else {
            body.push_str("<ul>\n");
            for c in state.contracts() {
                let parties: Vec<String> =
                    c.parties.iter().map(|p| party_link(&state, p)).collect();
                body.push_str(&format!(
                    "<li><a href=\"/contracts/{}\">{}</a>: between {}.</li>\n",
                    escape(&c.id),
                    escape(&c.title),
                    and_list(&parties)
                ));
            }
            body.push_str("</ul>\n");
        }
        body.push_str(&coalition(&state));
        body.push_str(&format!(
            "<p>Also here: <a href=\"/models\">{}</a>, <a href=\"/usage\">usage</a>, <a href=\"/parties\">{}</a>, <a href=\"/designations\">supply-chain-risk designations</a> and <a href=\"/log\">the whole log</a>.</p>\n",
            count(state.models().count() as u64, "model version", "model versions"),
            count(state.parties().count() as u64, "registered party", "registered parties")
        ));
        body.push_str(&format!(
            "<h2 id=\"verify\">Check it yourself</h2>\n<p>The log's verifier key:</p>\n<pre><code>{}</code></pre>\n<p>The latest signed checkpoint:</p>\n<pre><code>{}</code></pre>\n<p>Fetch an entry and its inclusion proof, then verify them offline with the <code>concordat</code> tool (<code>cargo install --locked --path crates/cli</code> from the source):</p>\n<pre><code>curl -s {base}/api/entries/{example}/envelope &gt; entry.json\ncurl -s {base}/api/entries/{example}/proof &gt; entry.tlog-proof\nconcordat proof verify --key '{}' --entry entry.json entry.tlog-proof</code></pre>\n<p>The log is also served as C2SP tiles (<code>/checkpoint</code>, <code>/tile/…</code>), so standard transparency-log tools can audit it.</p>\n",
            escape(instance.local.verifier_key()),
            escape(&checkpoint.note),
            escape(instance.local.verifier_key())
        ));
        Ok(page(&instance, Section::Overview, "Overview", &body))
    })();
    answer(&instance, result)
}

/// The other instances whose evidence this register counts, once an operator named them.
fn coalition(state: &domain::State) -> String {
    let Some(coalition) = state.coalition() else {
        return String::new();
    };
    let mut out = format!(
        "<h2>Evidence from other registers</h2>\n<p>This register counts evaluations that the members of its coalition logged (named at <a href=\"/log/{}\">entry {}</a>). Each is brought here whole, with a proof that it is in the member's log under a checkpoint the member's witnesses cosigned, and its lab is named <code>lab@member</code>.</p>\n<ul>\n",
        coalition.entry, coalition.entry
    );
    for member in &coalition.members {
        let mirrored = state
            .all_evidence()
            .filter(|e| e.mirrored.as_ref().is_some_and(|m| m.member == member.name))
            .count();
        out.push_str(&format!(
            "<li><strong>{}</strong>: the log <span class=\"id\">{}</span>, its checkpoints cosigned as its policy's quorum <code>{}</code> requires; {} here.</li>\n",
            escape(&member.name),
            escape(member.origin()),
            escape(member.quorum()),
            count(mirrored as u64, "evaluation mirrored", "evaluations mirrored")
        ));
    }
    out.push_str("</ul>\n");
    out
}
