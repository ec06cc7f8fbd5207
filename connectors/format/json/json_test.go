package json

import (
	stdjson "encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestAppendStringAgainstEncodingJSON: every string we write is valid JSON
// that encoding/json decodes to the same string (invalid UTF-8 to U+FFFD,
// as encoding/json itself does).
func TestAppendStringAgainstEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 100000; i++ {
		b := make([]byte, r.IntN(20))
		for j := range b {
			switch r.IntN(4) {
			case 0:
				b[j] = byte(r.IntN(0x20))
			case 1:
				b[j] = "\"\\/<>&"[r.IntN(6)]
			case 2:
				b[j] = byte(r.IntN(256))
			default:
				b[j] = byte('a' + r.IntN(26))
			}
		}
		s := string(b)
		out := AppendString(nil, s)
		var back string
		if err := stdjson.Unmarshal(out, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: invalid JSON: %v", s, out, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if !utf8.ValidString(s) {
			// encoding/json replaces each invalid byte; so do we.
			var sb strings.Builder
			for k := 0; k < len(s); {
				r, size := utf8.DecodeRuneInString(s[k:])
				if r == utf8.RuneError && size == 1 {
					sb.WriteRune(utf8.RuneError)
				} else {
					sb.WriteString(s[k : k+size])
				}
				k += size
			}
			want = sb.String()
		}
		if back != want {
			t.Fatalf("AppendString(%q) reads back as %q, want %q", s, back, want)
		}
	}
}
