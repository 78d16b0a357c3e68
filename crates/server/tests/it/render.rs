//! Snapshots of what the server renders: a contract from the template library as the public
//! reads it. `UPDATE_EXPECT=1 cargo test -p server` rewrites them after a deliberate change.

use expect_test::expect_file;

fn template_package() -> (domain::contract::Package, policy::Policies) {
    let template = service::templates::find("defense-imagery-analysis").unwrap();
    let parties = service::templates::Parties {
        agency: "defense-agency".into(),
        vendor: "acme-ai".into(),
        auditor: "oversight-office".into(),
    };
    let files: std::collections::BTreeMap<String, String> = template
        .files(&parties)
        .into_iter()
        .map(|(path, text)| (path.to_owned(), text))
        .collect();
    let package = domain::contract::load(domain::contract::sources(&files)).unwrap();
    let policies = policy::from_files(&files).unwrap();
    (package, policies)
}

#[test]
fn a_template_contract_renders_as_the_public_reads_it() {
    let (package, policies) = template_package();
    let markdown = server::render::markdown(&package, Some(&policies), &[]);
    expect_file!["snapshots/defense-imagery-analysis.md"].assert_eq(&markdown);
    let html = server::render::html_fragment(&package, Some(&policies));
    expect_file!["snapshots/defense-imagery-analysis.html"].assert_eq(&html);
}
