package jwt

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/quirehq/quire/auth"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestAlgorithms(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	edPub, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	v, err := NewVerifier(Options{Secret: secret, PublicKeys: []crypto.PublicKey{&rsaKey.PublicKey, otherPub, edPub}})
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range map[string]any{"HS256": secret, "RS256": rsaKey, "EdDSA": edKey} {
		tok, err := Mint(key, auth.Patterns{"doc"}, auth.Write, time.Hour)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		g, err := v.Verify(tok, "doc")
		if err != nil || !g.CanWrite() || time.Until(g.Expires) < 59*time.Minute {
			t.Errorf("%s: grant %+v, %v", name, g, err)
		}
	}

	// Only the configured algorithms: a verifier with a secret alone
	// refuses RS256, and nobody accepts "none".
	hsOnly, _ := NewVerifier(Options{Secret: secret})
	tok, _ := Mint(rsaKey, auth.Patterns{"doc"}, auth.Write, time.Hour)
	expectRefused(t, hsOnly, tok, "doc", auth.ErrInvalidToken, 401)
	none, _ := gojwt.NewWithClaims(gojwt.SigningMethodNone, Claims{Docs: auth.Patterns{"doc"}, Perm: "write",
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(time.Hour))}}).
		SignedString(gojwt.UnsafeAllowNoneSignatureType)
	expectRefused(t, v, none, "doc", auth.ErrInvalidToken, 401)
	// HS256 signed with the RSA public key's bytes: the classic confusion.
	pub := x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)
	confused, _ := Mint(pub, auth.Patterns{"doc"}, auth.Write, time.Hour)
	expectRefused(t, v, confused, "doc", auth.ErrInvalidToken, 401)
}

func expectRefused(t *testing.T, v *Verifier, tok, doc string, want error, status int) {
	t.Helper()
	_, err := v.Verify(tok, doc)
	var ae *auth.Error
	if !errors.As(err, &ae) || !errors.Is(err, want) || ae.Status != status {
		t.Errorf("Verify(%q): %v, want %v with status %d", doc, err, want, status)
	}
}

func TestRefusals(t *testing.T) {
	v, _ := NewVerifier(Options{Secret: secret})
	good, _ := Mint(secret, auth.Patterns{"team/*", "plan"}, auth.Read, time.Hour)
	for _, doc := range []string{"plan", "team/a", "team/"} {
		if g, err := v.Verify(good, doc); err != nil || g.CanWrite() {
			t.Errorf("%q: %+v %v", doc, g, err)
		}
	}
	expectRefused(t, v, good, "plan2", auth.ErrForbidden, 403)
	expectRefused(t, v, good, "team", auth.ErrForbidden, 403)
	wrong, _ := Mint([]byte("another secret, 32 bytes long..."), auth.Patterns{"plan"}, auth.Write, time.Hour)
	expectRefused(t, v, wrong, "plan", auth.ErrInvalidToken, 401)
	expectRefused(t, v, "not.a.token", "plan", auth.ErrInvalidToken, 401)
	expectRefused(t, v, good[:len(good)-2], "plan", auth.ErrInvalidToken, 401)

	expired, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, Claims{Docs: auth.Patterns{"plan"}, Perm: "write",
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(-time.Minute))}}).SignedString(secret)
	expectRefused(t, v, expired, "plan", auth.ErrExpiredToken, 401)
	noExp, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, Claims{Docs: auth.Patterns{"plan"}, Perm: "write"}).SignedString(secret)
	expectRefused(t, v, noExp, "plan", auth.ErrInvalidToken, 401)
	badPerm, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, Claims{Docs: auth.Patterns{"plan"}, Perm: "admin",
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(time.Minute))}}).SignedString(secret)
	expectRefused(t, v, badPerm, "plan", auth.ErrInvalidToken, 401)
	glob, _ := gojwt.NewWithClaims(gojwt.SigningMethodHS256, Claims{Docs: auth.Patterns{"p*an"}, Perm: "write",
		RegisteredClaims: gojwt.RegisteredClaims{ExpiresAt: gojwt.NewNumericDate(time.Now().Add(time.Minute))}}).SignedString(secret)
	expectRefused(t, v, glob, "plan", auth.ErrInvalidToken, 401)
}

func TestTokenFromRequest(t *testing.T) {
	v, _ := NewVerifier(Options{Secret: secret})
	tok, _ := Mint(secret, auth.Patterns{"*"}, auth.Write, time.Hour)
	r := httptest.NewRequest("GET", "/ws/x?token="+tok, nil)
	if _, err := v.Authorize(r, "x"); err != nil {
		t.Error(err)
	}
	r = httptest.NewRequest("GET", "/ws/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := v.Authorize(r, "x"); err != nil {
		t.Error(err)
	}
	r = httptest.NewRequest("GET", "/ws/x", nil)
	_, err := v.Authorize(r, "x")
	var ae *auth.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !errors.Is(err, auth.ErrMissingToken) {
		t.Errorf("no token: %v", err)
	}
}

func TestParsePublicKeys(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	a, _ := x509.MarshalPKIXPublicKey(edPub)
	data := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: a})
	data = append(data, pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})...)
	keys, err := ParsePublicKeys(data)
	if err != nil || len(keys) != 2 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	if _, err := NewVerifier(Options{PublicKeys: keys}); err != nil {
		t.Error(err)
	}
	if _, err := ParsePublicKeys([]byte("nothing")); !errors.Is(err, ErrBadKey) {
		t.Errorf("no PEM: %v", err)
	}
	if _, err := NewVerifier(Options{}); !errors.Is(err, ErrNoKeys) {
		t.Errorf("no keys: %v", err)
	}
}
