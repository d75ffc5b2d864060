package jwt

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/quirehq/quire/auth"
)

// ErrNoKeys is returned by NewVerifier when neither a secret nor a public
// key is configured.
var ErrNoKeys = errors.New("auth/jwt: no secret or public key configured")

// ErrBadKey is returned for a key of an unsupported type, or PEM that
// holds no usable public key.
var ErrBadKey = errors.New("auth/jwt: unusable key")

// Claims are the claims of a Quire token.
type Claims struct {
	Docs auth.Patterns `json:"docs"`
	Perm string        `json:"perm"`
	gojwt.RegisteredClaims
}

// Options configures a Verifier; at least one key is required.
type Options struct {
	// Secret verifies HS256 tokens. Empty: HS256 is refused. It should be
	// at least 32 random bytes.
	Secret []byte
	// PublicKeys verify RS256 (*rsa.PublicKey) and EdDSA
	// (ed25519.PublicKey) tokens; a token is accepted if any key of its
	// algorithm verifies it, so that keys can be rotated.
	PublicKeys []crypto.PublicKey
}

// Verifier checks tokens; it implements the sync package's Authorizer.
type Verifier struct {
	secret []byte
	rsa    []gojwt.VerificationKey
	ed     []gojwt.VerificationKey
	parser *gojwt.Parser
}

// NewVerifier returns a Verifier for the configured keys.
func NewVerifier(opts Options) (*Verifier, error) {
	v := &Verifier{secret: opts.Secret}
	var methods []string
	if len(opts.Secret) > 0 {
		methods = append(methods, gojwt.SigningMethodHS256.Alg())
	}
	for _, k := range opts.PublicKeys {
		switch k := k.(type) {
		case *rsa.PublicKey:
			v.rsa = append(v.rsa, k)
		case ed25519.PublicKey:
			v.ed = append(v.ed, k)
		default:
			return nil, fmt.Errorf("%w: public key of type %T (RSA or Ed25519)", ErrBadKey, k)
		}
	}
	if len(v.rsa) > 0 {
		methods = append(methods, gojwt.SigningMethodRS256.Alg())
	}
	if len(v.ed) > 0 {
		methods = append(methods, gojwt.SigningMethodEdDSA.Alg())
	}
	if len(methods) == 0 {
		return nil, ErrNoKeys
	}
	v.parser = gojwt.NewParser(gojwt.WithValidMethods(methods), gojwt.WithExpirationRequired())
	return v, nil
}

// keyFor picks the keys of the token's algorithm; the parser has already
// refused algorithms not configured.
func (v *Verifier) keyFor(t *gojwt.Token) (any, error) {
	switch t.Method.Alg() {
	case gojwt.SigningMethodHS256.Alg():
		return v.secret, nil
	case gojwt.SigningMethodRS256.Alg():
		return gojwt.VerificationKeySet{Keys: v.rsa}, nil
	case gojwt.SigningMethodEdDSA.Alg():
		return gojwt.VerificationKeySet{Keys: v.ed}, nil
	}
	return nil, fmt.Errorf("algorithm %q not accepted", t.Method.Alg())
}

// Authorize checks the token of a handshake request (auth.TokenFromRequest)
// for document doc. Errors are *auth.Error.
func (v *Verifier) Authorize(r *http.Request, doc string) (auth.Grant, error) {
	token, err := auth.TokenFromRequest(r)
	if err != nil {
		return auth.Grant{}, auth.Refuse(err)
	}
	return v.Verify(token, doc)
}

// Verify checks token for document doc and returns what it grants.
// Errors are *auth.Error wrapping auth.ErrInvalidToken,
// auth.ErrExpiredToken or auth.ErrForbidden.
func (v *Verifier) Verify(token, doc string) (auth.Grant, error) {
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyFor); err != nil {
		if errors.Is(err, gojwt.ErrTokenExpired) || errors.Is(err, gojwt.ErrTokenNotValidYet) {
			return auth.Grant{}, auth.Refuse(fmt.Errorf("%w: %w", auth.ErrExpiredToken, err))
		}
		return auth.Grant{}, auth.Refuse(fmt.Errorf("%w: %w", auth.ErrInvalidToken, err))
	}
	perm, err := auth.ParsePermission(c.Perm)
	if err != nil {
		return auth.Grant{}, auth.Refuse(err)
	}
	if err := c.Docs.Check(); err != nil {
		return auth.Grant{}, auth.Refuse(err)
	}
	if !c.Docs.Match(doc) {
		return auth.Grant{}, auth.Refuse(fmt.Errorf("%w: %q", auth.ErrForbidden, doc))
	}
	return auth.Grant{Permission: perm, Expires: c.ExpiresAt.Time}, nil
}

// Mint issues a token granting perm on docs until now+ttl, signed with
// key: a []byte secret (HS256), an *rsa.PrivateKey (RS256) or an
// ed25519.PrivateKey (EdDSA).
func Mint(key any, docs auth.Patterns, perm auth.Permission, ttl time.Duration) (string, error) {
	if err := docs.Check(); err != nil {
		return "", err
	}
	if perm != auth.Read && perm != auth.Write {
		return "", fmt.Errorf("%w: permission %v", auth.ErrInvalidToken, perm)
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%w: ttl %v must be positive", auth.ErrInvalidToken, ttl)
	}
	var method gojwt.SigningMethod
	switch k := key.(type) {
	case []byte:
		if len(k) == 0 {
			return "", ErrNoKeys
		}
		method = gojwt.SigningMethodHS256
	case *rsa.PrivateKey:
		method = gojwt.SigningMethodRS256
	case ed25519.PrivateKey:
		method = gojwt.SigningMethodEdDSA
	default:
		return "", fmt.Errorf("%w: signing key of type %T", ErrBadKey, key)
	}
	now := time.Now()
	claims := Claims{
		Docs: docs,
		Perm: perm.String(),
		RegisteredClaims: gojwt.RegisteredClaims{
			IssuedAt:  gojwt.NewNumericDate(now),
			ExpiresAt: gojwt.NewNumericDate(now.Add(ttl)),
		},
	}
	return gojwt.NewWithClaims(method, claims).SignedString(key)
}

// ParsePublicKeys reads every public key of a PEM file: "PUBLIC KEY"
// blocks (PKIX, RSA or Ed25519) and "RSA PUBLIC KEY" blocks (PKCS #1).
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		var k any
		var err error
		switch b.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(b.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s block: %w", ErrBadKey, b.Type, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no PUBLIC KEY block", ErrBadKey)
	}
	return keys, nil
}
