// oidc-issuer: a small OpenID Connect issuer for a local Sigstore instance (scripts/sigstore-stack.sh).
// Standard library only. It serves two issuers under one loopback listener:
//
//	BASE/email   tokens with email claims (Fulcio issuer type "email")
//	BASE/github  tokens with GitHub Actions workflow claims (Fulcio type "ci-provider", github-workflow)
//
// For each: /.well-known/openid-configuration, /jwks, and /token?audience=A which answers {"value": JWT}
// like GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL (it requires "Authorization: Bearer REQUEST_TOKEN").
// Tokens are RS256 JWTs valid for ten minutes. It writes BASE to -url-file once it listens.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

const kid = "wasipack-local"

type issuer struct {
	base         string
	key          *rsa.PrivateKey
	requestToken string
	email        string
	repository   string
	workflowPath string
	ref          string
	sha          string
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (s *issuer) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": kid})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func (s *issuer) claims(kind, audience string) map[string]any {
	now := time.Now().Unix()
	c := map[string]any{
		"iss": s.base + "/" + kind,
		"aud": audience,
		"iat": now,
		"nbf": now,
		"exp": now + 600,
	}
	switch kind {
	case "email":
		c["sub"] = s.email
		c["email"] = s.email
		c["email_verified"] = true
	case "github":
		owner := strings.SplitN(s.repository, "/", 2)[0]
		workflowRef := s.repository + "/" + s.workflowPath + "@" + s.ref
		c["sub"] = "repo:" + s.repository + ":ref:" + s.ref
		c["repository"] = s.repository
		c["repository_id"] = "1001"
		c["repository_owner"] = owner
		c["repository_owner_id"] = "2002"
		c["repository_visibility"] = "public"
		c["ref"] = s.ref
		c["ref_type"] = "branch"
		c["sha"] = s.sha
		c["event_name"] = "push"
		c["workflow"] = "release"
		c["workflow_ref"] = workflowRef
		c["workflow_sha"] = s.sha
		c["job_workflow_ref"] = workflowRef
		c["job_workflow_sha"] = s.sha
		c["run_id"] = "3003"
		c["run_attempt"] = "1"
		c["runner_environment"] = "github-hosted"
		c["actor"] = owner
	}
	return c
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *issuer) handler(kind string) http.Handler {
	mux := http.NewServeMux()
	prefix := "/" + kind
	mux.HandleFunc(prefix+"/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"issuer":                                s.base + prefix,
			"jwks_uri":                              s.base + prefix + "/jwks",
			"authorization_endpoint":                s.base + prefix + "/authorize",
			"token_endpoint":                        s.base + prefix + "/token",
			"response_types_supported":              []string{"id_token"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_supported":                      []string{"sub", "aud", "exp", "iat", "iss", "email", "email_verified"},
		})
	})
	mux.HandleFunc(prefix+"/jwks", func(w http.ResponseWriter, r *http.Request) {
		pub := s.key.PublicKey
		writeJSON(w, map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
		}}})
	})
	mux.HandleFunc(prefix+"/token", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+s.requestToken {
			http.Error(w, "bad request token", http.StatusUnauthorized)
			return
		}
		audience := r.URL.Query().Get("audience")
		if audience == "" {
			audience = "sigstore"
		}
		token, err := s.sign(s.claims(kind, audience))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, map[string]string{"value": token})
	})
	return mux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	urlFile := flag.String("url-file", "", "write the base URL here once listening")
	requestToken := flag.String("request-token", "", "bearer token the /token endpoints require")
	email := flag.String("email", "signer@wasipack.test", "email claim of email tokens")
	repository := flag.String("repository", "wasipack/example", "GitHub repository of workflow tokens")
	workflowPath := flag.String("workflow-path", ".github/workflows/release.yml", "workflow file of workflow tokens")
	ref := flag.String("ref", "refs/heads/main", "git ref of workflow tokens")
	sha := flag.String("sha", "0123456789abcdef0123456789abcdef01234567", "commit of workflow tokens")
	flag.Parse()
	if *requestToken == "" {
		log.Fatal("oidc-issuer: -request-token is required")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	listener, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	s := &issuer{
		base: "http://" + listener.Addr().String(), key: key, requestToken: *requestToken,
		email: *email, repository: *repository, workflowPath: *workflowPath, ref: *ref, sha: *sha,
	}
	mux := http.NewServeMux()
	mux.Handle("/email/", s.handler("email"))
	mux.Handle("/github/", s.handler("github"))
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile+".tmp", []byte(s.base+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(*urlFile+".tmp", *urlFile); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Fprintf(os.Stderr, "oidc-issuer: serving %s/email and %s/github\n", s.base, s.base)
	log.Fatal(http.Serve(listener, mux))
}
