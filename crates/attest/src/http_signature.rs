//! HTTP Message Signatures (RFC 9421): a party proves a request is its own by signing the
//! request's method, authority and path (and query) with its registered key.
//!
//! The subset Concordat speaks: the derived components `@method`, `@authority`, `@path` and
//! `@query`, plain header fields, and the signature parameters `created`, `expires`, `keyid`,
//! `alg` and `nonce`, with Ed25519 (`ed25519`) or ECDSA P-256 (`ecdsa-p256-sha256`) keys. The
//! `Signature-Input` and `Signature` fields are Structured Field dictionaries (RFC 8941); this
//! module reads the parts of that syntax those fields use and refuses the rest, saying what.
//!
//! What a signature is *for* — which components must be covered, how fresh it must be, whether
//! a nonce was seen before — is the verifier's policy, not this module's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use tlog::note::SignerKey;

/// Why a signature cannot be built, read or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpSignatureError {
    #[error("`{field}` at byte {at}: {why}")]
    Syntax {
        field: &'static str,
        at: usize,
        why: String,
    },
    #[error("signature `{0}` is in Signature-Input but not in Signature")]
    Unpaired(String),
    #[error(
        "covered component `{0}` is not supported (use @method, @authority, @path, @query or a header field)"
    )]
    Unsupported(String),
    #[error("covered component `{0}` is not in the request")]
    Missing(String),
    #[error("covered component `{0}` is listed twice")]
    Duplicate(String),
    #[error("the value of `{0}` contains a line break")]
    LineBreak(String),
}

/// A signature parameter's value (RFC 8941 bare items, the kinds RFC 9421 uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Integer(i64),
    String(String),
    Token(String),
    Boolean(bool),
}

/// The covered components and the signature parameters, in their order: what
/// `Signature-Input` says about one signature.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params {
    pub components: Vec<String>,
    pub parameters: Vec<(String, Param)>,
}

impl Params {
    /// Components and `created`, `keyid`, then `alg` and `nonce` when given.
    pub fn new(
        components: &[&str],
        created: i64,
        keyid: &str,
        alg: Option<&str>,
        nonce: Option<&str>,
    ) -> Params {
        let mut parameters = vec![
            ("created".to_owned(), Param::Integer(created)),
            ("keyid".to_owned(), Param::String(keyid.to_owned())),
        ];
        if let Some(alg) = alg {
            parameters.push(("alg".to_owned(), Param::String(alg.to_owned())));
        }
        if let Some(nonce) = nonce {
            parameters.push(("nonce".to_owned(), Param::String(nonce.to_owned())));
        }
        Params {
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            parameters,
        }
    }

    fn get(&self, name: &str) -> Option<&Param> {
        self.parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    pub fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Param::Integer(value)) => Some(*value),
            _ => None,
        }
    }

    /// A string (or token) parameter.
    pub fn string(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Param::String(value) | Param::Token(value)) => Some(value),
            _ => None,
        }
    }

    pub fn covers(&self, component: &str) -> bool {
        self.components.iter().any(|c| c == component)
    }

    /// The inner list with its parameters, as in `Signature-Input` and the
    /// `@signature-params` line: `("@method" "@path");created=1618884473;keyid="k"`.
    pub fn serialize(&self) -> String {
        let components: Vec<String> = self.components.iter().map(|c| sf_string(c)).collect();
        let mut out = format!("({})", components.join(" "));
        for (name, value) in &self.parameters {
            match value {
                Param::Integer(n) => out.push_str(&format!(";{name}={n}")),
                Param::String(s) => out.push_str(&format!(";{name}={}", sf_string(s))),
                Param::Token(t) => out.push_str(&format!(";{name}={t}")),
                Param::Boolean(true) => out.push_str(&format!(";{name}")),
                Param::Boolean(false) => out.push_str(&format!(";{name}=?0")),
            }
        }
        out
    }
}

fn sf_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The parts of a request a signature can cover.
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub method: &'a str,
    /// Host and port as the request names them (`Host`), without a default port.
    pub authority: &'a str,
    /// The absolute path as sent, percent-encoding included.
    pub path: &'a str,
    /// The query without its `?`, if the target has one.
    pub query: Option<&'a str>,
    /// Header fields: lowercase names and their values (a name may repeat).
    pub headers: &'a [(&'a str, &'a str)],
}

impl Message<'_> {
    fn component(&self, name: &str) -> Result<String, HttpSignatureError> {
        let value = match name {
            "@method" => self.method.to_owned(),
            "@authority" => self.authority.to_ascii_lowercase(),
            "@path" if self.path.is_empty() => "/".to_owned(),
            "@path" => self.path.to_owned(),
            "@query" => format!("?{}", self.query.unwrap_or_default()),
            derived if derived.starts_with('@') => {
                return Err(HttpSignatureError::Unsupported(derived.to_owned()));
            }
            field => {
                if field.is_empty()
                    || field.bytes().any(|b| {
                        !(b.is_ascii_lowercase()
                            || b.is_ascii_digit()
                            || b"-_.!#$%&'*+^`|~".contains(&b))
                    })
                {
                    return Err(HttpSignatureError::Unsupported(field.to_owned()));
                }
                let values: Vec<&str> = self
                    .headers
                    .iter()
                    .filter(|(n, _)| n.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v.trim())
                    .collect();
                if values.is_empty() {
                    return Err(HttpSignatureError::Missing(field.to_owned()));
                }
                values.join(", ")
            }
        };
        if value.contains(['\n', '\r']) {
            return Err(HttpSignatureError::LineBreak(name.to_owned()));
        }
        Ok(value)
    }
}

/// The signature base (RFC 9421 §2.5): one `"component": value` line per covered component,
/// then the `"@signature-params"` line, with no final line break. The bytes that are signed.
pub fn signature_base(
    message: &Message<'_>,
    params: &Params,
) -> Result<String, HttpSignatureError> {
    let mut base = String::new();
    for (i, component) in params.components.iter().enumerate() {
        if params.components[..i].contains(component) {
            return Err(HttpSignatureError::Duplicate(component.clone()));
        }
        let value = message.component(component)?;
        base.push_str(&format!("{}: {value}\n", sf_string(component)));
    }
    base.push_str(&format!("\"@signature-params\": {}", params.serialize()));
    Ok(base)
}

/// Signs `message` with an Ed25519 key: the `Signature-Input` and `Signature` field values,
/// under `label`.
pub fn sign(
    message: &Message<'_>,
    label: &str,
    params: &Params,
    key: &SignerKey,
) -> Result<(String, String), HttpSignatureError> {
    let base = signature_base(message, params)?;
    let signature = key.sign_bytes(base.as_bytes());
    Ok((
        format!("{label}={}", params.serialize()),
        format!("{label}=:{}:", STANDARD.encode(signature)),
    ))
}

/// One signature of a request, read from its `Signature-Input` and `Signature` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub label: String,
    pub params: Params,
    pub signature: Vec<u8>,
}

/// Reads every signature from the two field values (several field lines joined by `, `).
pub fn parse(signature_input: &str, signature: &str) -> Result<Vec<Signed>, HttpSignatureError> {
    let mut inputs = Vec::new();
    let mut parser = Parser::new("Signature-Input", signature_input);
    parser.dictionary(|p| {
        let label = p.key()?;
        p.expect(b'=')?;
        let components = p.inner_list()?;
        let parameters = p.parameters()?;
        inputs.push((
            label,
            Params {
                components,
                parameters,
            },
        ));
        Ok(())
    })?;
    let mut signatures = Vec::new();
    let mut parser = Parser::new("Signature", signature);
    parser.dictionary(|p| {
        let label = p.key()?;
        p.expect(b'=')?;
        let bytes = p.byte_sequence()?;
        // Parameters on a signature value carry nothing RFC 9421 uses.
        p.parameters()?;
        signatures.push((label, bytes));
        Ok(())
    })?;
    inputs
        .into_iter()
        .map(|(label, params)| {
            let signature = signatures
                .iter()
                .rev()
                .find(|(l, _)| *l == label)
                .map(|(_, s)| s.clone())
                .ok_or_else(|| HttpSignatureError::Unpaired(label.clone()))?;
            Ok(Signed {
                label,
                params,
                signature,
            })
        })
        .collect()
}

/// A reader of the Structured Field syntax the two fields use.
struct Parser<'a> {
    field: &'static str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    fn new(field: &'static str, text: &'a str) -> Self {
        Parser {
            field,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn fail<T>(&self, why: impl Into<String>) -> Result<T, HttpSignatureError> {
        Err(HttpSignatureError::Syntax {
            field: self.field,
            at: self.at,
            why: why.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), HttpSignatureError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            self.fail(format!("expected `{}`", byte as char))
        }
    }

    /// `member *( OWS "," OWS member )`, leading and trailing spaces allowed.
    fn dictionary(
        &mut self,
        mut member: impl FnMut(&mut Self) -> Result<(), HttpSignatureError>,
    ) -> Result<(), HttpSignatureError> {
        self.skip(b" ");
        if self.peek().is_none() {
            return self.fail("empty");
        }
        loop {
            member(self)?;
            self.skip(b" \t");
            match self.peek() {
                None => return Ok(()),
                Some(b',') => {
                    self.at += 1;
                    self.skip(b" \t");
                    if self.peek().is_none() {
                        return self.fail("a trailing comma");
                    }
                }
                Some(_) => return self.fail("expected `,` between members"),
            }
        }
    }

    fn key(&mut self) -> Result<String, HttpSignatureError> {
        let start = self.at;
        match self.peek() {
            Some(b) if b.is_ascii_lowercase() || b == b'*' => self.at += 1,
            _ => return self.fail("expected a key (lowercase letter or `*` first)"),
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.*".contains(&b))
        {
            self.at += 1;
        }
        Ok(String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned())
    }

    /// `( "a" "b" )`: strings without parameters (component parameters are not supported).
    fn inner_list(&mut self) -> Result<Vec<String>, HttpSignatureError> {
        self.expect(b'(')?;
        let mut items = Vec::new();
        loop {
            self.skip(b" ");
            if self.peek() == Some(b')') {
                self.at += 1;
                return Ok(items);
            }
            items.push(self.string()?);
            if self.peek() == Some(b';') {
                return self.fail("component parameters (`;name`) are not supported");
            }
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return self.fail("expected a space or `)` after a component");
            }
        }
    }

    fn parameters(&mut self) -> Result<Vec<(String, Param)>, HttpSignatureError> {
        let mut parameters: Vec<(String, Param)> = Vec::new();
        while self.peek() == Some(b';') {
            self.at += 1;
            self.skip(b" ");
            let name = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.at += 1;
                self.bare_item()?
            } else {
                Param::Boolean(true)
            };
            // A repeated parameter overrides the earlier one in place.
            match parameters.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => parameters.push((name, value)),
            }
        }
        Ok(parameters)
    }

    fn bare_item(&mut self) -> Result<Param, HttpSignatureError> {
        match self.peek() {
            Some(b'"') => Ok(Param::String(self.string()?)),
            Some(b'?') => {
                self.at += 1;
                match self.peek() {
                    Some(b'0') => {
                        self.at += 1;
                        Ok(Param::Boolean(false))
                    }
                    Some(b'1') => {
                        self.at += 1;
                        Ok(Param::Boolean(true))
                    }
                    _ => self.fail("a boolean is `?0` or `?1`"),
                }
            }
            Some(b) if b == b'-' || b.is_ascii_digit() => self.integer(),
            Some(b) if b.is_ascii_alphabetic() || b == b'*' => {
                let start = self.at;
                self.at += 1;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b":/!#$%&'*+-.^_`|~".contains(&b))
                {
                    self.at += 1;
                }
                Ok(Param::Token(
                    String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned(),
                ))
            }
            _ => self.fail("expected an integer, string, token or boolean"),
        }
    }

    fn integer(&mut self) -> Result<Param, HttpSignatureError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        if self.at == digits || self.at - digits > 15 {
            return self.fail("an integer has 1 to 15 digits");
        }
        if self.peek() == Some(b'.') {
            return self.fail("decimals are not used by these fields");
        }
        let text = String::from_utf8_lossy(&self.bytes[start..self.at]);
        match text.parse() {
            Ok(n) => Ok(Param::Integer(n)),
            Err(_) => self.fail("not an integer"),
        }
    }

    fn string(&mut self) -> Result<String, HttpSignatureError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return self.fail("an unterminated string"),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(b @ (b'"' | b'\\')) => {
                            out.push(b as char);
                            self.at += 1;
                        }
                        _ => return self.fail("only `\\\"` and `\\\\` are escapes"),
                    }
                }
                Some(b) if (0x20..0x7f).contains(&b) => {
                    out.push(b as char);
                    self.at += 1;
                }
                Some(_) => return self.fail("a string holds printable ASCII only"),
            }
        }
    }

    fn byte_sequence(&mut self) -> Result<Vec<u8>, HttpSignatureError> {
        self.expect(b':')?;
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            self.at += 1;
        }
        let text = &self.bytes[start..self.at];
        self.expect(b':')?;
        match STANDARD.decode(text) {
            Ok(bytes) => Ok(bytes),
            Err(e) => self.fail(format!("not base64: {e}")),
        }
    }
}
