// Verifies a cosigned checkpoint with Go's golang.org/x/mod/sumdb/note (Debian's
// golang-golang-x-mod-dev): the log's Ed25519 key through note.NewVerifier, each witness's
// C2SP cosignature/v1 key (type 0x04) through a note.Verifier written here from the spec,
// since x/mod knows only Ed25519.
//
//	go run verify_note.go NOTE_FILE LOG_VKEY [WITNESS_VKEY ...]
//
// Prints the names whose signatures verified, one a line; exits 1 if the note does not open
// or a named key did not sign it.
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// cosigner is a tlog-cosignature/v1 verifier: the signature is an 8-byte big-endian
// timestamp and an Ed25519 signature over "cosignature/v1\ntime <t>\n" and the note text.
type cosigner struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

func (c *cosigner) Name() string    { return c.name }
func (c *cosigner) KeyHash() uint32 { return c.hash }
func (c *cosigner) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	if t > 1<<63-1 {
		return false
	}
	var signed bytes.Buffer
	signed.WriteString("cosignature/v1\ntime " + strconv.FormatUint(t, 10) + "\n")
	signed.Write(msg)
	return ed25519.Verify(c.key, signed.Bytes(), sig[8:])
}

func newCosigner(vkey string) (*cosigner, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return nil, errors.New("malformed verifier key")
	}
	key, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != 0x04 {
		return nil, errors.New("not a cosignature/v1 key")
	}
	hash, err := strconv.ParseUint(parts[1], 16, 32)
	if err != nil {
		return nil, errors.New("malformed key hash")
	}
	// The key hash is the first four bytes of SHA-256(name || "\n" || 0x04 || key).
	sum := sha256.Sum256(append([]byte(parts[0]+"\n"), key...))
	if binary.BigEndian.Uint32(sum[:4]) != uint32(hash) {
		return nil, errors.New("the key hash does not match the key")
	}
	return &cosigner{name: parts[0], hash: uint32(hash), key: key[1:]}, nil
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: verify_note NOTE_FILE LOG_VKEY [WITNESS_VKEY ...]")
		os.Exit(2)
	}
	msg, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	log, err := note.NewVerifier(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "log key:", err)
		os.Exit(2)
	}
	verifiers := []note.Verifier{log}
	for _, vkey := range os.Args[3:] {
		c, err := newCosigner(vkey)
		if err != nil {
			fmt.Fprintln(os.Stderr, "witness key:", err)
			os.Exit(2)
		}
		verifiers = append(verifiers, c)
	}
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "note:", err)
		os.Exit(1)
	}
	signed := map[string]bool{}
	for _, s := range n.Sigs {
		signed[s.Name] = true
		fmt.Println(s.Name)
	}
	for _, v := range verifiers {
		if !signed[v.Name()] {
			fmt.Fprintln(os.Stderr, "not signed by", v.Name())
			os.Exit(1)
		}
	}
}
