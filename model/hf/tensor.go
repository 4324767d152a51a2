// Package hf reads local Hugging Face model directories: config.json for the
// bert, roberta, megatron-bert and longformer model types, and the weights
// from model.safetensors or pytorch_model.bin (torch.save zip format) as named
// float32 tensors, read one tensor at a time. Nothing here executes code from a
// checkpoint: the pickle reader is a small allow-listed VM.
package hf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a tensor element type, spelled as in the safetensors header.
type DType string

// Element types. The float types are the ones model weights use; the integer
// and bool types appear in buffers (e.g. embeddings.position_ids) and are
// converted to float32 as well (exactly, for magnitudes up to 2^24).
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
	F64  DType = "F64"
	I64  DType = "I64"
	I32  DType = "I32"
	I16  DType = "I16"
	I8   DType = "I8"
	U8   DType = "U8"
	Bool DType = "BOOL"
)

// Size returns the size of one element in bytes, or 0 for an unknown type.
func (d DType) Size() int {
	switch d {
	case F64, I64:
		return 8
	case F32, I32:
		return 4
	case F16, BF16, I16:
		return 2
	case I8, U8, Bool:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == F32 || d == F16 || d == BF16 || d == F64 }

// TensorInfo describes a stored tensor without reading its data.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int
}

// NumElements is the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int { return numElements(t.Shape) }

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// checkedNumElements multiplies the shape, failing on negative dimensions or
// on a product above limit (which also guards against overflow).
func checkedNumElements(shape []int, limit int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n != 0 && int64(d) > limit/n {
			return 0, fmt.Errorf("shape %v has more than %d elements", shape, limit)
		}
		n *= int64(d)
	}
	return n, nil
}

// Tensor is a dense row-major float32 tensor.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Source is a set of named tensors read on demand.
type Source interface {
	// Path is the file the tensors come from.
	Path() string
	// Format is "safetensors" or "pytorch".
	Format() string
	// Tensors lists the stored tensors, sorted by name.
	Tensors() []TensorInfo
	// Info describes one tensor.
	Info(name string) (TensorInfo, bool)
	// Load reads one tensor, converted to float32.
	Load(name string) (*Tensor, error)
	Close() error
}

// Float16ToFloat32 converts IEEE 754 half-precision bits to float32 (exact).
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, nan
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Float32ToFloat16 converts to half precision, rounding to nearest even (as
// torch's .half()); values beyond the range become ±inf, NaN stays NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		rem := m & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to inf: correct
	}
	return sign | uint16(r)
}

// BFloat16ToFloat32 converts bfloat16 bits to float32 (exact).
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 converts to bfloat16, rounding to nearest even (as torch).
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// decodeInto converts little-endian elements of type d from src into dst
// (len(src) == len(dst)*d.Size()).
func decodeInto(dst []float32, src []byte, d DType) {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(le.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = Float16ToFloat32(le.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BFloat16ToFloat32(le.Uint16(src[2*i:]))
		}
	case F64:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(le.Uint64(src[8*i:])))
		}
	case I64:
		for i := range dst {
			dst[i] = float32(int64(le.Uint64(src[8*i:])))
		}
	case I32:
		for i := range dst {
			dst[i] = float32(int32(le.Uint32(src[4*i:])))
		}
	case I16:
		for i := range dst {
			dst[i] = float32(int16(le.Uint16(src[2*i:])))
		}
	case I8:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case U8, Bool:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	}
}

// encodeFrom converts float32 values to little-endian elements of float type d.
func encodeFrom(dst []byte, src []float32, d DType) {
	le := binary.LittleEndian
	switch d {
	case F32:
		for i, v := range src {
			le.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], Float32ToFloat16(v))
		}
	case BF16:
		for i, v := range src {
			le.PutUint16(dst[2*i:], Float32ToBFloat16(v))
		}
	case F64:
		for i, v := range src {
			le.PutUint64(dst[8*i:], math.Float64bits(float64(v)))
		}
	}
}
