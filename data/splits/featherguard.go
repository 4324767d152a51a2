package splits

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The arrow ipc reader trusts the counts inside a file: a damaged footer can
// make it allocate a slice of hundreds of GB (a fatal out-of-memory that no
// recover catches) or recurse without end. A split file is a user's input,
// so before arrow sees it checkFooter walks the footer's flatbuffer, bounds
// checked, and rejects any vector whose length does not fit in the footer,
// nesting deeper than any real schema, or more fields than the footer could
// hold; and arrow's buffer allocations go through a capped allocator. What
// remains (out-of-range indexing inside arrow) panics, which readFeather
// recovers into an error.

var errDamaged = errors.New("damaged Arrow IPC footer")

// fb reads a flatbuffer with every access bounds-checked.
type fb []byte

func (b fb) u32(at int) (int, error) {
	if at < 0 || at+4 > len(b) {
		return 0, errDamaged
	}
	return int(binary.LittleEndian.Uint32(b[at:])), nil
}

// field returns the position of a table's slot, or -1 when absent.
func (b fb) field(table, slot int) (int, error) {
	if table < 0 || table+4 > len(b) {
		return 0, errDamaged
	}
	vt := table - int(int32(binary.LittleEndian.Uint32(b[table:])))
	if vt < 0 || vt+4 > len(b) {
		return 0, errDamaged
	}
	vtLen := int(binary.LittleEndian.Uint16(b[vt:]))
	if vtLen < 4 || vt+vtLen > len(b) {
		return 0, errDamaged
	}
	at := 4 + 2*slot
	if at+2 > vtLen {
		return -1, nil
	}
	off := int(binary.LittleEndian.Uint16(b[vt+at:]))
	if off == 0 {
		return -1, nil
	}
	if table+off >= len(b) {
		return 0, errDamaged
	}
	return table + off, nil
}

// ref follows a slot holding an offset to a table, vector or string; -1
// when absent.
func (b fb) ref(table, slot int) (int, error) {
	p, err := b.field(table, slot)
	if err != nil || p < 0 {
		return p, err
	}
	off, err := b.u32(p)
	if err != nil {
		return 0, err
	}
	if p+off >= len(b) {
		return 0, errDamaged
	}
	return p + off, nil
}

// vector checks a vector slot whose elements take size bytes and returns
// its element positions' start and count (0 when absent).
func (b fb) vector(table, slot, size int) (start, n int, err error) {
	v, err := b.ref(table, slot)
	if err != nil || v < 0 {
		return 0, 0, err
	}
	n, err = b.u32(v)
	if err != nil {
		return 0, 0, err
	}
	if n > (len(b)-v-4)/size {
		return 0, 0, errDamaged
	}
	return v + 4, n, nil
}

// tables returns the positions of the tables in a vector of tables.
func (b fb) tables(table, slot int) ([]int, error) {
	start, n, err := b.vector(table, slot, 4)
	if err != nil {
		return nil, err
	}
	out := make([]int, n)
	for i := range n {
		p := start + 4*i
		off, err := b.u32(p)
		if err != nil || p+off >= len(b) {
			return nil, errDamaged
		}
		out[i] = p + off
	}
	return out, nil
}

// Slots of the Arrow flatbuffer tables (format/File.fbs, format/Schema.fbs).
const (
	footerSchema, footerDictionaries, footerBatches, footerMetadata = 1, 2, 3, 4
	schemaFields, schemaMetadata, schemaFeatures                    = 1, 2, 3
	fieldName, fieldChildren, fieldMetadata                         = 0, 5, 6
	keyValueKey, keyValueValue                                      = 0, 1
	blockSize                                                       = 24
	maxNesting                                                      = 64
)

// checkFooter reads the footer of the Arrow IPC file f (size bytes) and
// checks it as described above.
func checkFooter(f io.ReaderAt, size int64) error {
	const magic = "ARROW1"
	if size < int64(2*len(magic)+4) {
		return errors.New("file too small for Arrow IPC")
	}
	tail := make([]byte, 10)
	if _, err := f.ReadAt(tail, size-10); err != nil {
		return err
	}
	if !bytes.Equal(tail[4:], []byte(magic)) {
		return errors.New("no Arrow IPC end marker (not a Feather v2 file, or truncated)")
	}
	footerLen := int64(binary.LittleEndian.Uint32(tail))
	if footerLen <= 0 || footerLen > size-10-8 {
		return errDamaged
	}
	buf := make(fb, footerLen)
	if _, err := f.ReadAt(buf, size-10-footerLen); err != nil {
		return err
	}
	root, err := buf.u32(0)
	if err != nil {
		return err
	}
	for _, slot := range []int{footerDictionaries, footerBatches} {
		if _, _, err := buf.vector(root, slot, blockSize); err != nil {
			return err
		}
	}
	if err := buf.checkMetadata(root, footerMetadata); err != nil {
		return err
	}
	schema, err := buf.ref(root, footerSchema)
	if err != nil {
		return err
	}
	if schema < 0 {
		return fmt.Errorf("%w: no schema", errDamaged)
	}
	if err := buf.checkMetadata(schema, schemaMetadata); err != nil {
		return err
	}
	if _, _, err := buf.vector(schema, schemaFeatures, 8); err != nil {
		return err
	}
	fields, err := buf.tables(schema, schemaFields)
	if err != nil {
		return err
	}
	// Every field table takes at least 8 bytes, so a footer cannot hold
	// more; a damaged one can reach the same field many times over.
	budget := len(buf) / 8
	for _, f := range fields {
		if err := buf.checkField(f, 0, &budget); err != nil {
			return err
		}
	}
	return nil
}

func (b fb) checkField(f, depth int, budget *int) error {
	*budget--
	if depth > maxNesting || *budget < 0 {
		return fmt.Errorf("%w: fields nested too deep or repeated", errDamaged)
	}
	if _, _, err := b.vector(f, fieldName, 1); err != nil {
		return err
	}
	if err := b.checkMetadata(f, fieldMetadata); err != nil {
		return err
	}
	children, err := b.tables(f, fieldChildren)
	if err != nil {
		return err
	}
	for _, c := range children {
		if err := b.checkField(c, depth+1, budget); err != nil {
			return err
		}
	}
	return nil
}

func (b fb) checkMetadata(table, slot int) error {
	kvs, err := b.tables(table, slot)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		for _, s := range []int{keyValueKey, keyValueValue} {
			if _, _, err := b.vector(kv, s, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// cappedAllocator refuses any single allocation above limit with a panic,
// which readFeather recovers; a plain huge make would be fatal instead.
type cappedAllocator struct {
	memory.Allocator
	limit int
}

func (a cappedAllocator) Allocate(size int) []byte {
	if size < 0 || size > a.limit {
		panic(fmt.Sprintf("refusing to allocate %d bytes (a damaged length)", size))
	}
	return a.Allocator.Allocate(size)
}

func (a cappedAllocator) Reallocate(size int, b []byte) []byte {
	if size < 0 || size > a.limit {
		panic(fmt.Sprintf("refusing to allocate %d bytes (a damaged length)", size))
	}
	return a.Allocator.Reallocate(size, b)
}

// allocatorFor caps allocations for a file of size bytes: no decompressed
// buffer of a split list comes near 64 times the file plus 16 MB.
func allocatorFor(size int64) memory.Allocator {
	limit := 64*size + 16<<20
	if limit > 1<<32 {
		limit = 1 << 32
	}
	return cappedAllocator{Allocator: memory.NewGoAllocator(), limit: int(limit)}
}
