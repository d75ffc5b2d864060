package jwt

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	"github.com/quirehq/quire/auth"
)

// BenchmarkVerify is the cost a handshake pays for its token, per
// algorithm.
func BenchmarkVerify(b *testing.B) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	v, err := NewVerifier(Options{Secret: secret, PublicKeys: []crypto.PublicKey{&rsaKey.PublicKey, edPub}})
	if err != nil {
		b.Fatal(err)
	}
	for _, alg := range []struct {
		name string
		key  any
	}{{"HS256", secret}, {"RS256", rsaKey}, {"EdDSA", edKey}} {
		tok, err := Mint(alg.key, auth.Patterns{"team/*"}, auth.Write, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(tok, "team/plan"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
