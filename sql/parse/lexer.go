package parse

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokIdent  tokKind = iota // a bare word: identifier or keyword
	tokQuoted                // a `backquoted` identifier
	tokString                // a 'string' literal
	tokNumber                // a numeric literal
	tokOp                    // an operator or punctuation
)

// token is one lexical token of the user's script.
type token struct {
	kind       tokKind
	start, end int // byte offsets of the raw text in the script
	// val is the decoded value: the identifier or string without its quotes
	// (doubled quotes undone), the number or operator as written.
	val string
}

// is reports whether t is the bare (unquoted) word w, case-insensitively.
func (t token) is(w string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.val, w)
}

// isOp reports whether t is the operator or punctuation op.
func (t token) isOp(op string) bool { return t.kind == tokOp && t.val == op }

// isName reports whether t can name something: a bare word or a quoted
// identifier.
func (t token) isName() bool { return t.kind == tokIdent || t.kind == tokQuoted }

// reservedPrefix starts the placeholder names the rewrite puts into the text
// TiDB parses. User identifiers may not start with it, so a placeholder never
// collides with a name the user wrote.
const reservedPrefix = "__eddy_"

// lexError is a lexical error at a byte offset of the script.
type lexError struct {
	off int
	msg string
}

// hintComment is the span of a /*+ ... */ comment: a hint block (Flink's
// SELECT /*+ STATE_TTL(...) */). start is the offset of "/*+", end the
// offset right after "*/".
type hintComment struct{ start, end int }

// lex splits text into tokens. It stops at the first lexical error and
// returns the tokens before it with the error. clean is text with every
// comment replaced by spaces (newlines kept), so byte offsets are the same in
// both; the rewrite copies from clean.
func lex(text string) (toks []token, clean string, lerr *lexError) {
	toks, clean, _, lerr = lexHints(text)
	return toks, clean, lerr
}

// lexHints is lex that also returns the hint comments (/*+ ... */), which
// are blanked in clean like every comment.
func lexHints(text string) (toks []token, clean string, hints []hintComment, lerr *lexError) {
	buf := []byte(text)
	i := 0
	blank := func(from, to int) {
		for k := from; k < to; k++ {
			if buf[k] != '\n' && buf[k] != '\r' {
				buf[k] = ' '
			}
		}
	}
	fail := func(off int, format string, args ...any) ([]token, string, []hintComment, *lexError) {
		return toks, string(buf), hints, &lexError{off: off, msg: fmt.Sprintf(format, args...)}
	}
	for i < len(text) {
		c := text[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			j := strings.IndexByte(text[i:], '\n')
			if j < 0 {
				j = len(text) - i
			}
			blank(i, i+j)
			i += j
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			j := strings.Index(text[i+2:], "*/")
			if j < 0 {
				return fail(i, "unterminated comment: '/*' has no closing '*/'")
			}
			if i+2 < len(text) && text[i+2] == '+' && j >= 1 {
				hints = append(hints, hintComment{start: i, end: i + 2 + j + 2})
			}
			blank(i, i+2+j+2)
			i += 2 + j + 2
		case isIdentStart(c):
			j := i + 1
			for j < len(text) && isIdentPart(text[j]) {
				j++
			}
			w := text[i:j]
			if !utf8.ValidString(w) {
				return fail(i, "invalid UTF-8 in identifier")
			}
			if hasReservedPrefix(w) {
				return fail(i, "identifiers starting with %q are reserved for Eddy's own use", reservedPrefix)
			}
			toks = append(toks, token{kind: tokIdent, start: i, end: j, val: w})
			i = j
		case c == '`':
			var sb strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(text[j:], '`')
				if k < 0 {
					return fail(i, "unterminated quoted identifier: '`' has no closing '`'")
				}
				sb.WriteString(text[j : j+k])
				j += k + 1
				if j < len(text) && text[j] == '`' {
					sb.WriteByte('`')
					j++
					continue
				}
				break
			}
			w := sb.String()
			switch {
			case w == "":
				return fail(i, "empty quoted identifier ``")
			case !utf8.ValidString(w):
				return fail(i, "invalid UTF-8 in quoted identifier")
			case hasReservedPrefix(w):
				return fail(i, "identifiers starting with %q are reserved for Eddy's own use", reservedPrefix)
			}
			toks = append(toks, token{kind: tokQuoted, start: i, end: j, val: w})
			i = j
		case c == '\'':
			var sb strings.Builder
			j := i + 1
			for {
				k := strings.IndexByte(text[j:], '\'')
				if k < 0 {
					return fail(i, "unterminated string: quote ' has no closing quote")
				}
				sb.WriteString(text[j : j+k])
				j += k + 1
				if j < len(text) && text[j] == '\'' {
					sb.WriteByte('\'')
					j++
					continue
				}
				break
			}
			if !utf8.ValidString(sb.String()) {
				return fail(i, "invalid UTF-8 in string literal")
			}
			toks = append(toks, token{kind: tokString, start: i, end: j, val: sb.String()})
			i = j
		case isDigit(c) || (c == '.' && i+1 < len(text) && isDigit(text[i+1])):
			j := i
			for j < len(text) && isDigit(text[j]) {
				j++
			}
			if j < len(text) && text[j] == '.' {
				j++
				for j < len(text) && isDigit(text[j]) {
					j++
				}
			}
			if j < len(text) && (text[j] == 'e' || text[j] == 'E') {
				k := j + 1
				if k < len(text) && (text[k] == '+' || text[k] == '-') {
					k++
				}
				if k < len(text) && isDigit(text[k]) {
					for k < len(text) && isDigit(text[k]) {
						k++
					}
					j = k
				}
			}
			if j < len(text) && isIdentPart(text[j]) {
				k := j
				for k < len(text) && isIdentPart(text[k]) && k-i < 40 {
					k++
				}
				return fail(i, "malformed number %q", text[i:k])
			}
			toks = append(toks, token{kind: tokNumber, start: i, end: j, val: text[i:j]})
			i = j
		default:
			n := opLen(text[i:])
			if n == 0 {
				return fail(i, "%s", badChar(text[i:]))
			}
			toks = append(toks, token{kind: tokOp, start: i, end: i + n, val: text[i : i+n]})
			i += n
		}
	}
	return toks, string(buf), hints, nil
}

func hasReservedPrefix(w string) bool {
	return len(w) >= len(reservedPrefix) && strings.EqualFold(w[:len(reservedPrefix)], reservedPrefix)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// twoCharOps are the operators of two characters, tried before single ones.
var twoCharOps = []string{"<>", "<=", ">=", "!=", "||", "=>"}

// opLen returns the length of the operator at the start of s, or 0.
func opLen(s string) int {
	for _, op := range twoCharOps {
		if strings.HasPrefix(s, op) {
			return 2
		}
	}
	switch s[0] {
	case '(', ')', ',', ';', '.', '+', '-', '*', '/', '%', '=', '<', '>', '!', '|', '&', '^', '~', ':', '[', ']', '{', '}':
		return 1
	}
	return 0
}

// badChar explains why the character at the start of s cannot start a token.
func badChar(s string) string {
	switch s[0] {
	case '"':
		return "double quotes are not allowed: write 'text' for a string and `name` for a quoted identifier"
	case '?':
		return "unexpected '?': parameter markers are not supported"
	case '@':
		return "unexpected '@': variables are not supported"
	case '#':
		return "unexpected '#': comments start with -- or /*"
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return "invalid UTF-8"
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf("unexpected control character %U", r)
	}
	return fmt.Sprintf("unexpected character %q", r)
}
