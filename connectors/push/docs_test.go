package push

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
)

const (
	docsPath  = "../../docs/connectors.md"
	beginMark = "<!-- BEGIN GENERATED PUSH OPTIONS: go test ./connectors/push -run TestDocs -rewrite -->"
	endMark   = "<!-- END GENERATED PUSH OPTIONS -->"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the push connector's option table in docs/connectors.md")

// optionTable renders the connector's options as docs/connectors.md lists
// the built-in connectors' (connectors/builtin's TestConnectorDocs): push
// is not in connectors/builtin, since the processes that serve it add it
// with their hub.
func optionTable() string {
	var sb strings.Builder
	sb.WriteString("\n### push (sink)\n\n| option | type | default | description |\n|---|---|---|---|\n")
	for _, o := range New(nil).Options() {
		typ := string(o.Type)
		if o.Type == connectors.OptEnum {
			typ = "one of " + strings.Join(o.Enum, ", ")
		}
		def := "`" + o.Default + "`"
		switch {
		case o.Required:
			def = "required"
		case o.Default == "":
			def = ""
		}
		fmt.Fprintf(&sb, "| `%s` | %s | %s | %s |\n", o.Key, typ, def, strings.ReplaceAll(o.Description, "|", "\\|"))
	}
	return sb.String()
}

// TestDocs checks that docs/connectors.md lists exactly the push
// connector's options; -rewrite regenerates them.
func TestDocs(t *testing.T) {
	path := filepath.FromSlash(docsPath)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	begin, end := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	if begin < 0 || end < begin {
		t.Fatalf("%s lacks the markers %q ... %q", path, beginMark, endMark)
	}
	want := optionTable()
	if doc[begin+len(beginMark):end] == want {
		return
	}
	if *rewrite {
		doc = doc[:begin+len(beginMark)] + want + doc[end:]
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s is out of date with the push connector's options; run go test ./connectors/push -run TestDocs -rewrite\nwant:\n%s", path, want)
}
