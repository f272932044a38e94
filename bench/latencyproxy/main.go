// Command latencyproxy is the benchmarks' network: an HTTPS reverse proxy in front of the test apiserver
// that waits a fixed time before forwarding each request, as a link with that round trip would.
//
// It stands where tests/cluster/harness/proxy.py stands for the fault tests, but without the Python
// interpreter's lock: at a fleet's hundreds of requests a second that proxy, not regplan or kubectl, was
// the limit of the benchmarks (docs/performance.md). Both proxies speak HTTP/1.1 only (no ALPN), so Go
// and Python clients open the same connections.
//
// Usage: latencyproxy -upstream https://127.0.0.1:PORT -ca CA -cert CERT -key KEY -latency 50ms
// The first line on stdout is "LISTEN 127.0.0.1:PORT"; then one line per request:
// "REQ<TAB>METHOD<TAB>PATH<TAB>USER-AGENT" (control characters in them replaced by spaces). A GET of
// /__latencyproxy_sync?n=N is answered at once, not forwarded, and prints "SYNC<TAB>N": when the harness
// reads that line it has read every request before it.
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

func main() {
	upstream := flag.String("upstream", "", "the apiserver, https://host:port")
	caFile := flag.String("ca", "", "CA bundle that signs the apiserver's serving certificate")
	certFile := flag.String("cert", "", "serving certificate for the proxy's own listener")
	keyFile := flag.String("key", "", "its key")
	latency := flag.Duration("latency", 0, "wait before forwarding each request")
	flag.Parse()

	target, err := url.Parse(*upstream)
	if err != nil || target.Scheme != "https" || target.Host == "" {
		log.Fatalf("latencyproxy: -upstream must be https://host:port, got %q", *upstream)
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatalf("latencyproxy: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		log.Fatalf("latencyproxy: no certificate in %s", *caFile)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatalf("latencyproxy: %v", err)
	}

	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
	}

	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.FlushInterval = -1 // watches stream through
	proxy.Transport = &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}},
		ForceAttemptHTTP2:   false,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
	}
	proxy.ErrorLog = log.New(os.Stderr, "latencyproxy: ", 0)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/__latencyproxy_sync" { // the harness's marker: every earlier line is out
			say("SYNC\t%s\n", clean(r.URL.Query().Get("n")))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		say("REQ\t%s\t%s\t%s\n", clean(r.Method), clean(r.URL.RequestURI()), clean(r.UserAgent()))
		time.Sleep(*latency)
		proxy.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatalf("latencyproxy: %v", err)
	}
	server := &http.Server{
		Handler:   handler,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}},
		// An empty map turns HTTP/2 off: the same HTTP/1.1 connections the Python proxy serves.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(os.Stderr, "latencyproxy: ", 0),
	}
	say("LISTEN %s\n", ln.Addr().String())
	log.Fatal(server.ServeTLS(ln, "", ""))
}
