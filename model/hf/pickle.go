package hf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// A small pickle virtual machine for the data.pkl of torch.save archives. It
// implements only the opcodes torch.save emits (protocol 2, plus the protocol
// 4 framing/memo opcodes) and resolves only allow-listed globals; anything
// else is refused with an error naming the opcode or global. No code from the
// file is ever executed.

// Python values produced by the VM.
type (
	pyTuple []any
	pyList  struct{ items []any }
	pyDict  struct {
		keys   []any
		values []any
		index  map[any]int
		attrs  any // state set by BUILD (e.g. OrderedDict._metadata)
	}
	pyGlobal struct{ module, name string }
	pyMark   struct{}
	// pyStorageType is a torch.<X>Storage class used in persistent ids.
	pyStorageType struct{ dtype DType }
	pyStorage     struct {
		key   string
		dtype DType
		numel int64
	}
	pyTensor struct {
		storage *pyStorage
		offset  int64
		shape   []int
		stride  []int64
	}
)

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64:
	default:
		return fmt.Errorf("unsupported dict key type %T", k)
	}
	if i, ok := d.index[k]; ok {
		d.values[i] = v
		return nil
	}
	if d.index == nil {
		d.index = map[any]int{}
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.values = append(d.values, v)
	return nil
}

// storageTypes maps the torch storage classes of persistent ids to dtypes.
var storageTypes = map[string]DType{
	"FloatStorage":    F32,
	"HalfStorage":     F16,
	"BFloat16Storage": BF16,
	"DoubleStorage":   F64,
	"LongStorage":     I64,
	"IntStorage":      I32,
	"ShortStorage":    I16,
	"CharStorage":     I8,
	"ByteStorage":     U8,
	"BoolStorage":     Bool,
}

// allowedGlobal resolves the globals torch.save state dicts use.
func allowedGlobal(module, name string) (any, error) {
	switch module + "." + name {
	case "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter":
		return pyGlobal{module, name}, nil
	}
	if module == "torch" {
		if dt, ok := storageTypes[name]; ok {
			return pyStorageType{dt}, nil
		}
	}
	return nil, fmt.Errorf("global %s.%s is not allowed (only collections.OrderedDict, torch._utils._rebuild_tensor_v2/_rebuild_parameter and torch.*Storage are)", module, name)
}

// maxPickleMemo bounds memo indices so a hostile file cannot make the memo huge.
const maxPickleMemo = 1 << 24

type pickleVM struct {
	data     []byte
	pos      int
	stack    []any
	marks    []int
	memo     map[uint32]any
	persLoad func(pid any) (any, error)
}

// unpickle runs the VM over data and returns the value at STOP.
func unpickle(data []byte, persLoad func(pid any) (any, error)) (result any, err error) {
	vm := &pickleVM{data: data, memo: map[uint32]any{}, persLoad: persLoad}
	return vm.run()
}

func (vm *pickleVM) errf(op byte, format string, args ...any) error {
	return fmt.Errorf("pickle: opcode 0x%02x at offset %d: %s", op, vm.pos, fmt.Sprintf(format, args...))
}

func (vm *pickleVM) read(n int) ([]byte, bool) {
	if n < 0 || n > len(vm.data)-vm.pos {
		return nil, false
	}
	b := vm.data[vm.pos : vm.pos+n]
	vm.pos += n
	return b, true
}

func (vm *pickleVM) pop() (any, bool) {
	if len(vm.stack) == 0 {
		return nil, false
	}
	if len(vm.marks) > 0 && len(vm.stack) <= vm.marks[len(vm.marks)-1] {
		return nil, false // would pop across a MARK
	}
	v := vm.stack[len(vm.stack)-1]
	vm.stack = vm.stack[:len(vm.stack)-1]
	return v, true
}

func (vm *pickleVM) popMark() ([]any, bool) {
	if len(vm.marks) == 0 {
		return nil, false
	}
	m := vm.marks[len(vm.marks)-1]
	vm.marks = vm.marks[:len(vm.marks)-1]
	items := append([]any(nil), vm.stack[m:]...)
	vm.stack = vm.stack[:m]
	return items, true
}

func (vm *pickleVM) top() (any, bool) {
	if len(vm.stack) == 0 || (len(vm.marks) > 0 && len(vm.stack) <= vm.marks[len(vm.marks)-1]) {
		return nil, false
	}
	return vm.stack[len(vm.stack)-1], true
}

func (vm *pickleVM) run() (any, error) {
	le := binary.LittleEndian
	for {
		if vm.pos >= len(vm.data) {
			return nil, fmt.Errorf("pickle: data ends at offset %d without STOP (truncated)", vm.pos)
		}
		op := vm.data[vm.pos]
		vm.pos++
		short := func() error { return vm.errf(op, "truncated argument") }
		underflow := func() error { return vm.errf(op, "stack underflow") }
		switch op {
		case 0x80: // PROTO
			b, ok := vm.read(1)
			if !ok {
				return nil, short()
			}
			if b[0] > 5 {
				return nil, vm.errf(op, "unsupported pickle protocol %d", b[0])
			}
		case 0x95: // FRAME
			if _, ok := vm.read(8); !ok {
				return nil, short()
			}
		case '.': // STOP
			v, ok := vm.pop()
			if !ok {
				return nil, underflow()
			}
			return v, nil
		case '(': // MARK
			vm.marks = append(vm.marks, len(vm.stack))
		case '}': // EMPTY_DICT
			vm.stack = append(vm.stack, &pyDict{})
		case ']': // EMPTY_LIST
			vm.stack = append(vm.stack, &pyList{})
		case ')': // EMPTY_TUPLE
			vm.stack = append(vm.stack, pyTuple{})
		case 'N': // NONE
			vm.stack = append(vm.stack, nil)
		case 0x88: // NEWTRUE
			vm.stack = append(vm.stack, true)
		case 0x89: // NEWFALSE
			vm.stack = append(vm.stack, false)
		case 'K': // BININT1
			b, ok := vm.read(1)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, int64(b[0]))
		case 'M': // BININT2
			b, ok := vm.read(2)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, int64(le.Uint16(b)))
		case 'J': // BININT
			b, ok := vm.read(4)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, int64(int32(le.Uint32(b))))
		case 0x8a: // LONG1
			b, ok := vm.read(1)
			if !ok {
				return nil, short()
			}
			n := int(b[0])
			if n > 8 {
				return nil, vm.errf(op, "integer of %d bytes is too large", n)
			}
			v, ok := vm.read(n)
			if !ok {
				return nil, short()
			}
			var x int64
			for i := n - 1; i >= 0; i-- {
				x = x<<8 | int64(v[i])
			}
			if n > 0 && n < 8 && v[n-1]&0x80 != 0 { // sign-extend
				x -= int64(1) << (8 * uint(n))
			}
			vm.stack = append(vm.stack, x)
		case 'G': // BINFLOAT (big-endian)
			b, ok := vm.read(8)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, math.Float64frombits(binary.BigEndian.Uint64(b)))
		case 'X', 0x8c: // BINUNICODE, SHORT_BINUNICODE
			var n int
			if op == 'X' {
				b, ok := vm.read(4)
				if !ok {
					return nil, short()
				}
				n = int(le.Uint32(b))
			} else {
				b, ok := vm.read(1)
				if !ok {
					return nil, short()
				}
				n = int(b[0])
			}
			s, ok := vm.read(n)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, string(s))
		case 'B', 'C': // BINBYTES, SHORT_BINBYTES
			var n int
			if op == 'B' {
				b, ok := vm.read(4)
				if !ok {
					return nil, short()
				}
				n = int(le.Uint32(b))
			} else {
				b, ok := vm.read(1)
				if !ok {
					return nil, short()
				}
				n = int(b[0])
			}
			s, ok := vm.read(n)
			if !ok {
				return nil, short()
			}
			vm.stack = append(vm.stack, append([]byte(nil), s...))
		case 'c': // GLOBAL "module\nname\n"
			mod, ok1 := vm.readLine()
			name, ok2 := vm.readLine()
			if !ok1 || !ok2 {
				return nil, short()
			}
			g, err := allowedGlobal(mod, name)
			if err != nil {
				return nil, vm.errf(op, "%v", err)
			}
			vm.stack = append(vm.stack, g)
		case 0x93: // STACK_GLOBAL
			name, ok1 := vm.pop()
			mod, ok2 := vm.pop()
			if !ok1 || !ok2 {
				return nil, underflow()
			}
			ms, ok1 := mod.(string)
			ns, ok2 := name.(string)
			if !ok1 || !ok2 {
				return nil, vm.errf(op, "module and name must be strings")
			}
			g, err := allowedGlobal(ms, ns)
			if err != nil {
				return nil, vm.errf(op, "%v", err)
			}
			vm.stack = append(vm.stack, g)
		case 't': // TUPLE
			items, ok := vm.popMark()
			if !ok {
				return nil, vm.errf(op, "no MARK")
			}
			vm.stack = append(vm.stack, pyTuple(items))
		case 0x85, 0x86, 0x87: // TUPLE1..3
			n := int(op - 0x84)
			items := make(pyTuple, n)
			for i := n - 1; i >= 0; i-- {
				v, ok := vm.pop()
				if !ok {
					return nil, underflow()
				}
				items[i] = v
			}
			vm.stack = append(vm.stack, items)
		case 'l': // LIST
			items, ok := vm.popMark()
			if !ok {
				return nil, vm.errf(op, "no MARK")
			}
			vm.stack = append(vm.stack, &pyList{items: items})
		case 'a', 'e': // APPEND, APPENDS
			var items []any
			if op == 'a' {
				v, ok := vm.pop()
				if !ok {
					return nil, underflow()
				}
				items = []any{v}
			} else {
				var ok bool
				if items, ok = vm.popMark(); !ok {
					return nil, vm.errf(op, "no MARK")
				}
			}
			t, ok := vm.top()
			if !ok {
				return nil, underflow()
			}
			l, ok := t.(*pyList)
			if !ok {
				return nil, vm.errf(op, "append to %T, not a list", t)
			}
			l.items = append(l.items, items...)
		case 'd': // DICT
			items, ok := vm.popMark()
			if !ok || len(items)%2 != 0 {
				return nil, vm.errf(op, "bad MARK or odd number of items")
			}
			d := &pyDict{}
			for i := 0; i < len(items); i += 2 {
				if err := d.set(items[i], items[i+1]); err != nil {
					return nil, vm.errf(op, "%v", err)
				}
			}
			vm.stack = append(vm.stack, d)
		case 's', 'u': // SETITEM, SETITEMS
			var items []any
			if op == 's' {
				v, ok1 := vm.pop()
				k, ok2 := vm.pop()
				if !ok1 || !ok2 {
					return nil, underflow()
				}
				items = []any{k, v}
			} else {
				var ok bool
				if items, ok = vm.popMark(); !ok || len(items)%2 != 0 {
					return nil, vm.errf(op, "bad MARK or odd number of items")
				}
			}
			t, ok := vm.top()
			if !ok {
				return nil, underflow()
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, vm.errf(op, "set item on %T, not a dict", t)
			}
			for i := 0; i < len(items); i += 2 {
				if err := d.set(items[i], items[i+1]); err != nil {
					return nil, vm.errf(op, "%v", err)
				}
			}
		case 'q', 'r', 0x94: // BINPUT, LONG_BINPUT, MEMOIZE
			var idx uint32
			switch op {
			case 'q':
				b, ok := vm.read(1)
				if !ok {
					return nil, short()
				}
				idx = uint32(b[0])
			case 'r':
				b, ok := vm.read(4)
				if !ok {
					return nil, short()
				}
				idx = le.Uint32(b)
			default:
				idx = uint32(len(vm.memo))
			}
			if idx >= maxPickleMemo {
				return nil, vm.errf(op, "memo index %d too large", idx)
			}
			v, ok := vm.top()
			if !ok {
				return nil, underflow()
			}
			vm.memo[idx] = v
		case 'h', 'j': // BINGET, LONG_BINGET
			var idx uint32
			if op == 'h' {
				b, ok := vm.read(1)
				if !ok {
					return nil, short()
				}
				idx = uint32(b[0])
			} else {
				b, ok := vm.read(4)
				if !ok {
					return nil, short()
				}
				idx = le.Uint32(b)
			}
			v, ok := vm.memo[idx]
			if !ok {
				return nil, vm.errf(op, "memo index %d not set", idx)
			}
			vm.stack = append(vm.stack, v)
		case 'Q': // BINPERSID
			pid, ok := vm.pop()
			if !ok {
				return nil, underflow()
			}
			if vm.persLoad == nil {
				return nil, vm.errf(op, "persistent ids are not allowed here")
			}
			v, err := vm.persLoad(pid)
			if err != nil {
				return nil, vm.errf(op, "%v", err)
			}
			vm.stack = append(vm.stack, v)
		case 'R': // REDUCE
			args, ok1 := vm.pop()
			fn, ok2 := vm.pop()
			if !ok1 || !ok2 {
				return nil, underflow()
			}
			t, ok := args.(pyTuple)
			if !ok {
				return nil, vm.errf(op, "arguments are %T, not a tuple", args)
			}
			v, err := reduce(fn, t)
			if err != nil {
				return nil, vm.errf(op, "%v", err)
			}
			vm.stack = append(vm.stack, v)
		case 'b': // BUILD
			state, ok := vm.pop()
			if !ok {
				return nil, underflow()
			}
			t, ok := vm.top()
			if !ok {
				return nil, underflow()
			}
			d, ok := t.(*pyDict)
			if !ok {
				return nil, vm.errf(op, "BUILD on %T is not supported", t)
			}
			d.attrs = state
		case '0': // POP
			if _, ok := vm.pop(); !ok {
				return nil, underflow()
			}
		case '1': // POP_MARK
			if _, ok := vm.popMark(); !ok {
				return nil, vm.errf(op, "no MARK")
			}
		case '2': // DUP
			v, ok := vm.top()
			if !ok {
				return nil, underflow()
			}
			vm.stack = append(vm.stack, v)
		default:
			return nil, vm.errf(op, "unsupported opcode %q (only the opcodes torch.save emits are implemented)", rune(op))
		}
	}
}

func (vm *pickleVM) readLine() (string, bool) {
	for i := vm.pos; i < len(vm.data) && i-vm.pos < 256; i++ {
		if vm.data[i] == '\n' {
			s := string(vm.data[vm.pos:i])
			vm.pos = i + 1
			return s, true
		}
	}
	return "", false
}

// reduce applies an allow-listed callable.
func reduce(fn any, args pyTuple) (any, error) {
	g, ok := fn.(pyGlobal)
	if !ok {
		return nil, fmt.Errorf("cannot call %T", fn)
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		if len(args) != 0 {
			return nil, fmt.Errorf("OrderedDict with arguments is not supported")
		}
		return &pyDict{}, nil
	case "torch._utils._rebuild_parameter":
		// (data, requires_grad, backward_hooks)
		if len(args) != 3 {
			return nil, fmt.Errorf("_rebuild_parameter: want 3 arguments, got %d", len(args))
		}
		t, ok := args[0].(*pyTensor)
		if !ok {
			return nil, fmt.Errorf("_rebuild_parameter: data is %T, not a tensor", args[0])
		}
		return t, nil
	case "torch._utils._rebuild_tensor_v2":
		// (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
		if len(args) < 6 || len(args) > 7 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: want 6 or 7 arguments, got %d", len(args))
		}
		st, ok := args[0].(*pyStorage)
		if !ok {
			return nil, fmt.Errorf("_rebuild_tensor_v2: storage is %T", args[0])
		}
		off, ok := args[1].(int64)
		if !ok || off < 0 {
			return nil, fmt.Errorf("_rebuild_tensor_v2: bad storage offset %v", args[1])
		}
		size, ok1 := args[2].(pyTuple)
		stride, ok2 := args[3].(pyTuple)
		if !ok1 || !ok2 || len(size) != len(stride) {
			return nil, fmt.Errorf("_rebuild_tensor_v2: size %v and stride %v must be tuples of equal length", args[2], args[3])
		}
		t := &pyTensor{storage: st, offset: off, shape: make([]int, len(size)), stride: make([]int64, len(size))}
		for i := range size {
			d, ok1 := size[i].(int64)
			s, ok2 := stride[i].(int64)
			if !ok1 || !ok2 || d < 0 || s < 0 || d > maxElements {
				return nil, fmt.Errorf("_rebuild_tensor_v2: bad size %v or stride %v", size, stride)
			}
			t.shape[i], t.stride[i] = int(d), s
		}
		return t, nil
	}
	return nil, fmt.Errorf("cannot call %s.%s", g.module, g.name)
}
