// Command referrers-registry serves go-containerregistry's in-memory registry
// (the one behind `crane registry serve`) with the OCI 1.1 referrers API
// enabled, for integration tests.
//
//	go build -o refreg . && ./refreg -addr 127.0.0.1:0
//
// It prints "listening on HOST:PORT" to stdout once bound and logs requests
// to stderr.
//
// Two gaps in the library's referrers support (v0.22.1) are filled here:
// manifest PUTs that carry a subject get the OCI-Subject response header, and
// referrers listings take artifactType from the manifest's own artifactType
// field (the library only looks at config.mediaType, which for OCI 1.1
// artifacts is usually application/vnd.oci.empty.v1+json).
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	h := &referrers{
		next:          registry.New(registry.WithReferrersSupport(true)),
		artifactTypes: map[string]string{},
	}
	log.Fatal(http.Serve(ln, h))
}

type referrers struct {
	next http.Handler

	mu            sync.Mutex
	artifactTypes map[string]string // manifest digest -> its artifactType field
}

func (h *referrers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPut && endpoint(r.URL.Path) == "manifests":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))

		var m struct {
			ArtifactType string         `json:"artifactType"`
			Subject      *v1.Descriptor `json:"subject"`
		}
		if json.Unmarshal(body, &m) == nil {
			if m.ArtifactType != "" {
				h.mu.Lock()
				h.artifactTypes[fmt.Sprintf("sha256:%x", sha256.Sum256(body))] = m.ArtifactType
				h.mu.Unlock()
			}
			if m.Subject != nil {
				hdr := w.Header()
				w = onStatus{w, func(code int) {
					if code == http.StatusCreated {
						hdr.Set("OCI-Subject", m.Subject.Digest.String())
					}
				}}
			}
		}
		h.next.ServeHTTP(w, r)

	case r.Method == http.MethodGet && endpoint(r.URL.Path) == "referrers":
		rec := httptest.NewRecorder()
		h.next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var idx v1.IndexManifest
		if rec.Code == http.StatusOK && json.Unmarshal(body, &idx) == nil {
			h.mu.Lock()
			for i, d := range idx.Manifests {
				if at, ok := h.artifactTypes[d.Digest.String()]; ok {
					idx.Manifests[i].ArtifactType = at
				}
			}
			h.mu.Unlock()
			if b, err := json.Marshal(idx); err == nil {
				body = b
				rec.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
		}
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(body)

	default:
		h.next.ServeHTTP(w, r)
	}
}

// endpoint returns "manifests", "blobs", "referrers", ... for a path of the
// form /v2/<name>/<endpoint>/<reference>.
func endpoint(path string) string {
	e := strings.Split(strings.TrimPrefix(path, "/v2/"), "/")
	if len(e) < 3 {
		return ""
	}
	return e[len(e)-2]
}

// onStatus calls f with the status code just before it is written.
type onStatus struct {
	http.ResponseWriter
	f func(code int)
}

func (w onStatus) WriteHeader(code int) {
	w.f(code)
	w.ResponseWriter.WriteHeader(code)
}
