package connectortest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
)

// badValues are values each option type must refuse.
var badValues = map[connectors.OptionType]string{
	connectors.OptInt:      "12x",
	connectors.OptFloat:    "1.5.2",
	connectors.OptBool:     "maybe",
	connectors.OptDuration: "soon",
	connectors.OptEnum:     "no-such-choice",
}

// CheckOptions checks a factory's options: its OptionSpecs are well
// formed (keys lower-case, unique, not 'connector'; known types; defaults
// valid for their type; enums non-empty with a valid default; a
// description for every option; no default on a required option), the
// table valid (which must be one the factory accepts) passes
// connectors.ValidateOptions and the factory's TableValidator, and an
// unknown option, each required option missing and each typed option given
// a bad value are rejected by them with an error naming the option.
func CheckOptions(t testing.TB, f connectors.Factory, valid connectors.TableInfo) {
	t.Helper()
	specs := f.Options()
	seen := map[string]bool{}
	for i, s := range specs {
		where := "option spec " + strconv.Itoa(i) + " ('" + s.Key + "') of connector '" + f.Name() + "'"
		switch {
		case s.Key == "":
			t.Errorf("%s: empty key", where)
		case s.Key != strings.ToLower(s.Key):
			t.Errorf("%s: the key is not lower-case (WITH option keys are lower-cased before lookup)", where)
		case strings.ContainsAny(s.Key, " \t\n'\""):
			t.Errorf("%s: the key holds blanks or quotes", where)
		case s.Key == "connector":
			t.Errorf("%s: 'connector' is not an option of the connector", where)
		case seen[s.Key]:
			t.Errorf("%s: the key is listed twice", where)
		}
		seen[s.Key] = true
		if strings.TrimSpace(s.Description) == "" {
			t.Errorf("%s: no description (docs/connectors.md and the error messages need one)", where)
		}
		if _, known := badValues[s.Type]; !known && s.Type != connectors.OptString {
			t.Errorf("%s: unknown type %q", where, s.Type)
			continue
		}
		if s.Type == connectors.OptEnum {
			if len(s.Enum) == 0 {
				t.Errorf("%s: an enum with no values", where)
			}
			for _, e := range s.Enum {
				if e == "" || strings.EqualFold(e, badValues[connectors.OptEnum]) {
					t.Errorf("%s: enum value %q", where, e)
				}
			}
		} else if len(s.Enum) > 0 {
			t.Errorf("%s: enum values on an option of type %s", where, s.Type)
		}
		if s.Required && s.Default != "" {
			t.Errorf("%s: a required option with a default (%q), which never applies", where, s.Default)
		}
		if s.Default != "" {
			one := s
			one.Required = false
			if err := connectors.ValidateOptions([]connectors.OptionSpec{one}, map[string]string{s.Key: s.Default}); err != nil {
				t.Errorf("%s: the default %q is not a valid %s: %v", where, s.Default, s.Type, err)
			}
		}
	}

	check := func(opts map[string]string) error {
		if err := connectors.ValidateOptions(specs, opts); err != nil {
			return err
		}
		if tv, ok := f.(connectors.TableValidator); ok {
			info := valid
			info.Options = opts
			return tv.ValidateTable(info)
		}
		return nil
	}
	if err := check(valid.Options); err != nil {
		t.Errorf("connector '%s': the harness's valid table is refused: %v", f.Name(), err)
		return
	}
	clone := func() map[string]string {
		m := make(map[string]string, len(valid.Options)+1)
		for k, v := range valid.Options {
			m[k] = v
		}
		return m
	}
	with := func(k, v string) map[string]string {
		m := clone()
		m[k] = v
		return m
	}
	const unknown = "connectortest.no-such-option"
	if err := check(with(unknown, "1")); err == nil {
		t.Errorf("connector '%s': the unknown option '%s' is accepted", f.Name(), unknown)
	} else if !strings.Contains(err.Error(), unknown) {
		t.Errorf("connector '%s': the error for the unknown option '%s' does not name it: %v", f.Name(), unknown, err)
	}
	for _, s := range specs {
		if s.Required {
			m := clone()
			delete(m, s.Key)
			if err := check(m); err == nil {
				t.Errorf("connector '%s': a table without the required option '%s' is accepted", f.Name(), s.Key)
			} else if !strings.Contains(err.Error(), s.Key) {
				t.Errorf("connector '%s': the error for the missing option '%s' does not name it: %v", f.Name(), s.Key, err)
			}
		}
		bad, typed := badValues[s.Type]
		if !typed {
			continue
		}
		if err := check(with(s.Key, bad)); err == nil {
			t.Errorf("connector '%s': option '%s' of type %s accepts %q", f.Name(), s.Key, s.Type, bad)
		} else if !strings.Contains(err.Error(), s.Key) {
			t.Errorf("connector '%s': the error for option '%s' = %q does not name the option: %v", f.Name(), s.Key, bad, err)
		}
	}
}
