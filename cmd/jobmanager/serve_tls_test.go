package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeTLSFlags: --tls-ca needs the job manager to serve TLS, and a
// CA bundle that cannot be read or holds no certificate is a usage error
// naming the flag.
func TestServeTLSFlags(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--checkpoint-dir", dir, "--rest-addr", "127.0.0.1:0", "--rpc-addr", "127.0.0.1:0", "--local-taskmanagers", "0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-ca", notPEM}, "--tls-ca verifies task managers dialed over TLS"},
		{[]string{"--tls-ca", filepath.Join(dir, "missing.pem"), "--tls-cert", notPEM, "--tls-key", notPEM}, "--tls-ca: open"},
		{[]string{"--tls-ca", notPEM, "--tls-cert", notPEM, "--tls-key", notPEM}, "--tls-ca: " + notPEM + ": no PEM certificate"},
	} {
		var stdout, stderr bytes.Buffer
		code := serve(context.Background(), append(append([]string{}, base...), tc.args...), &stdout, &stderr, nil)
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, want 2 and %q:\n%s", tc.args, code, tc.want, stderr.String())
		}
	}
}
