package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/state/keygroup"
)

// FormatVersion is the version of the metadata encoding this package writes
// and the only one it reads.
const FormatVersion = 1

// metadataMagic starts every metadata file's header line.
const metadataMagic = "EDDY-CHECKPOINT"

// maxMetadataSize bounds the metadata files Load reads, so a corrupt or
// foreign file cannot make it allocate without limit.
const maxMetadataSize = 256 << 20

// EncodeMetadata renders m as a metadata file: a header line
//
//	EDDY-CHECKPOINT <format> <body length> <SHA-256 of the body, hex>
//
// followed by the JSON body. The length and checksum make a truncated or
// altered file detectable. m.Format is set to FormatVersion when zero.
func EncodeMetadata(m *Metadata) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("checkpoint: encode metadata: nil metadata")
	}
	if m.Format == 0 {
		m.Format = FormatVersion
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	body, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return nil, fmt.Errorf("checkpoint %d: encode metadata: %w", m.ID, err)
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	var buf bytes.Buffer
	buf.Grow(len(body) + 128)
	fmt.Fprintf(&buf, "%s %d %d %s\n", metadataMagic, m.Format, len(body), hex.EncodeToString(sum[:]))
	buf.Write(body)
	return buf.Bytes(), nil
}

// DecodeMetadata parses and verifies a metadata file written by
// EncodeMetadata: the header, the body's length and SHA-256, the JSON and
// the metadata's consistency (Validate). The error says what is wrong.
func DecodeMetadata(data []byte) (*Metadata, error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		return nil, fmt.Errorf("metadata has no header line (%d bytes; truncated or not a checkpoint)", len(data))
	}
	fields := strings.Fields(string(data[:nl]))
	if len(fields) != 4 || fields[0] != metadataMagic {
		return nil, fmt.Errorf("metadata header %q is not %q <format> <length> <sha256>", truncate(string(data[:nl]), 80), metadataMagic)
	}
	format, err := strconv.Atoi(fields[1])
	if err != nil {
		return nil, fmt.Errorf("metadata header: format %q is not a number", fields[1])
	}
	if format != FormatVersion {
		return nil, fmt.Errorf("metadata format %d is not supported (this build reads format %d)", format, FormatVersion)
	}
	length, err := strconv.Atoi(fields[2])
	if err != nil || length < 0 {
		return nil, fmt.Errorf("metadata header: length %q is not a size", fields[2])
	}
	want, err := hex.DecodeString(fields[3])
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("metadata header: checksum %q is not a hex SHA-256", truncate(fields[3], 80))
	}
	body := data[nl+1:]
	if len(body) != length {
		return nil, fmt.Errorf("metadata body has %d bytes, header says %d (truncated or appended to)", len(body), length)
	}
	if got := sha256.Sum256(body); !bytes.Equal(got[:], want) {
		return nil, fmt.Errorf("metadata checksum mismatch: body hashes to %x, header says %x (corrupt)", got, want)
	}
	var m Metadata
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("metadata body: %w", err)
	}
	if m.Format != format {
		return nil, fmt.Errorf("metadata body says format %d, header %d", m.Format, format)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks that m is consistent: a positive ID and max parallelism,
// every operator with one subtask entry per subtask in order, key-group
// ranges within [0, MaxParallelism), and well-formed file references.
func (m *Metadata) Validate() error {
	if m == nil {
		return fmt.Errorf("checkpoint: nil metadata")
	}
	if m.ID <= 0 {
		return fmt.Errorf("checkpoint %d: the ID must be positive", m.ID)
	}
	if m.Format != FormatVersion {
		return fmt.Errorf("checkpoint %d: format %d is not supported (want %d)", m.ID, m.Format, FormatVersion)
	}
	if m.MaxParallelism <= 0 || m.MaxParallelism > keygroup.MaxMaxParallelism {
		return fmt.Errorf("checkpoint %d: max parallelism %d is not in [1, %d]", m.ID, m.MaxParallelism, keygroup.MaxMaxParallelism)
	}
	files := make(map[string]FileRef)
	for _, opID := range sortedOps(m) {
		op := m.Operators[opID]
		if opID == "" {
			return fmt.Errorf("checkpoint %d: an operator has an empty ID", m.ID)
		}
		if op == nil {
			return fmt.Errorf("checkpoint %d: operator %q has no state entry", m.ID, opID)
		}
		if op.Parallelism <= 0 {
			return fmt.Errorf("checkpoint %d: operator %q: parallelism %d is not positive", m.ID, opID, op.Parallelism)
		}
		if len(op.Subtasks) != op.Parallelism {
			return fmt.Errorf("checkpoint %d: operator %q: %d subtask entries for parallelism %d", m.ID, opID, len(op.Subtasks), op.Parallelism)
		}
		for i, st := range op.Subtasks {
			if st == nil {
				return fmt.Errorf("checkpoint %d: operator %q: subtask %d has no entry", m.ID, opID, i)
			}
			if st.Subtask != i {
				return fmt.Errorf("checkpoint %d: operator %q: entry %d is for subtask %d", m.ID, opID, i, st.Subtask)
			}
			kg := st.KeyGroups
			if kg.Start < 0 || kg.End < kg.Start || kg.End > m.MaxParallelism {
				return fmt.Errorf("checkpoint %d: operator %q subtask %d: key groups %s are not within [0, %d)", m.ID, opID, i, kg, m.MaxParallelism)
			}
			if st.Backend == nil {
				continue
			}
			if st.Backend.Kind == "" {
				return fmt.Errorf("checkpoint %d: operator %q subtask %d: backend handle has no kind", m.ID, opID, i)
			}
			for _, f := range st.Backend.Files {
				if err := f.validate(); err != nil {
					return fmt.Errorf("checkpoint %d: operator %q subtask %d: %w", m.ID, opID, i, err)
				}
				if g, ok := files[f.Name]; ok && g != f {
					return fmt.Errorf("checkpoint %d: operator %q subtask %d: shared file %q has size %d and SHA-256 %s here but %d and %s elsewhere", m.ID, opID, i, f.Name, f.Size, f.SHA256, g.Size, g.SHA256)
				}
				files[f.Name] = f
			}
		}
	}
	return nil
}

func (f FileRef) validate() error {
	if err := ValidSharedName(f.Name); err != nil {
		return err
	}
	if f.Size < 0 {
		return fmt.Errorf("shared file %q: negative size %d", f.Name, f.Size)
	}
	if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
		return fmt.Errorf("shared file %q: checksum %q is not a hex SHA-256", f.Name, truncate(f.SHA256, 80))
	}
	return nil
}

// ValidSharedName reports (as an error saying why) whether name can name a
// shared file: 1 to 200 characters out of letters, digits and ". _ - + = ~",
// not starting with a dot (hidden names are the storage's temporaries).
func ValidSharedName(name string) error {
	if name == "" {
		return fmt.Errorf("shared file name is empty")
	}
	if len(name) > 200 {
		return fmt.Errorf("shared file name %q is longer than 200 bytes", truncate(name, 40))
	}
	if name[0] == '.' {
		return fmt.Errorf("shared file name %q starts with a dot (reserved for temporary files)", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == '-', c == '+', c == '=', c == '~':
		default:
			return fmt.Errorf("shared file name %q has the character %q at byte %d (allowed: letters, digits, . _ - + = ~)", name, c, i)
		}
	}
	return nil
}

// Files returns every shared file m references, each name once, in a
// stable order (operators by ID, then subtasks, then the handle's order).
func (m *Metadata) Files() []FileRef {
	seen := make(map[string]bool)
	var out []FileRef
	for _, opID := range sortedOps(m) {
		op := m.Operators[opID]
		if op == nil {
			continue
		}
		for _, st := range op.Subtasks {
			if st == nil || st.Backend == nil {
				continue
			}
			for _, f := range st.Backend.Files {
				if !seen[f.Name] {
					seen[f.Name] = true
					out = append(out, f)
				}
			}
		}
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// StateSize returns the total size of the distinct shared files m
// references: what a restore reads.
func (m *Metadata) StateSize() int64 {
	var n int64
	for _, f := range m.Files() {
		n += f.Size
	}
	return n
}
