package classifier

import (
	"fmt"

	"github.com/icdcode/icdcode/model/heads"
)

// Encoding and head names accepted by Config.
const (
	EncoderCE = "ce" // chunk encoding (reference §1)
	EncoderLE = "le" // Longformer encoding (reference §2)

	HeadCLS  = "cls"  // CE: pooler per chunk + max; LE: LongformerClassificationHead
	HeadLAAT = "laat" // PLM-ICD label-wise attention over all tokens
	HeadMSAM = "msam" // multi-synonym attention (reference §3)
)

// Defaults of Config (reference §1, §2 and §10).
const (
	DefaultMaxLen = 512
	// DefaultStride is the reference's OVERLAP_WINDOW: chunks of 510
	// tokens start every 255 tokens, so consecutive chunks share half
	// their tokens.
	DefaultStride = 255
	// DefaultMaxTokensCE is the reference's largest CE bucket for
	// MIMIC-III-50 (MAX_TEXT_LENGTH 7142 → 7141 tokens with [CLS] and
	// [SEP], 27 chunks).
	DefaultMaxTokensCE = 7141
	// DefaultMaxTokensLE is the reference's Longformer length
	// (model_max_length 8192).
	DefaultMaxTokensLE = 8192
	// DefaultWindow is the reference's attention_window.
	DefaultWindow = 512
)

// Config describes a classifier. Zero values get the defaults noted.
type Config struct {
	// Encoder is EncoderCE or EncoderLE.
	Encoder string
	// Head is HeadCLS, HeadLAAT or HeadMSAM.
	Head string

	// MaxLen is the CE sequence length, [CLS] and [SEP] included
	// (default 512): every chunk holds MaxLen−2 document tokens.
	MaxLen int
	// Stride is the CE step, in tokens, between the starts of consecutive
	// chunks (default 255, the reference's OVERLAP_WINDOW: chunk j covers
	// document tokens [j·Stride, j·Stride+MaxLen−2)). 1 ≤ Stride ≤ MaxLen−2.
	Stride int
	// MaxTokens caps the document length counted as the reference's
	// tokenizer counts it, with one [CLS] and one [SEP]: documents keep
	// their first MaxTokens−2 tokens (head truncation, as Hugging Face's
	// truncation=True). Default 7141 for CE, 8192 for LE.
	MaxTokens int
	// Window is the LE attention window (full width, even; default 512,
	// or the window of an encoder that is already a Longformer). LE
	// sequences are padded to a multiple of it.
	Window int
	// GlobalCLS gives [CLS] global attention in LE. The reference has
	// none (§2, §14 flaw 5), so it is off by default.
	GlobalCLS bool

	// LAATDim is LAAT's attention width d_a (default: the encoder's hidden
	// size, as PLM-ICD).
	LAATDim int
	// MSAM configures the MSAM head; a zero value (no Pool) means
	// heads.FaithfulMSAM().
	MSAM heads.MSAMConfig
	// M is the number of synonyms per label (MSAM; it is also the number
	// of attention heads, so the hidden size must be a multiple of it).
	M int

	// Dropout is the probability of dropout on the encoder's last hidden
	// state before the head, in training only (0: none). For LE+cls this
	// is the reference's dropout before dense on [CLS]; the heads' inner
	// dropouts (after CE's pooler, before LE's out_proj) are not applied
	// because model/heads computes the eval-mode functions.
	Dropout float64
	// Seed initialises the head's parameters.
	Seed uint64
	// CodeDim is the width of the label code embeddings that
	// SetCodeEmbeddings projects into the head (0: none).
	CodeDim int `json:",omitempty"`
}

// withDefaults returns c with its zero fields set to the defaults.
func (c Config) withDefaults() Config {
	if c.MaxLen == 0 {
		c.MaxLen = DefaultMaxLen
	}
	if c.Stride == 0 {
		c.Stride = DefaultStride
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokensCE
		if c.Encoder == EncoderLE {
			c.MaxTokens = DefaultMaxTokensLE
		}
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.MSAM.Pool == "" {
		c.MSAM = heads.FaithfulMSAM()
	}
	return c
}

// validate checks a configuration that has its defaults.
func (c Config) validate() error {
	switch c.Encoder {
	case EncoderCE:
		if c.MaxLen < 3 {
			return fmt.Errorf("classifier: MaxLen %d leaves no room for a token between [CLS] and [SEP]", c.MaxLen)
		}
		if c.Stride < 1 || c.Stride > c.MaxLen-2 {
			// A stride beyond the chunk length would skip tokens.
			return fmt.Errorf("classifier: Stride %d outside [1, MaxLen−2 = %d]", c.Stride, c.MaxLen-2)
		}
	case EncoderLE:
		if c.Window < 2 || c.Window%2 != 0 {
			return fmt.Errorf("classifier: Window %d is not a positive even number", c.Window)
		}
	default:
		return fmt.Errorf("classifier: Encoder %q, want %q or %q", c.Encoder, EncoderCE, EncoderLE)
	}
	if c.MaxTokens < 2 {
		return fmt.Errorf("classifier: MaxTokens %d leaves no room for [CLS] and [SEP]", c.MaxTokens)
	}
	switch c.Head {
	case HeadCLS, HeadLAAT:
	case HeadMSAM:
		if c.M < 1 {
			return fmt.Errorf("classifier: the MSAM head needs M ≥ 1 synonyms per label (got %d)", c.M)
		}
	default:
		return fmt.Errorf("classifier: Head %q, want %q, %q or %q", c.Head, HeadCLS, HeadLAAT, HeadMSAM)
	}
	if c.CodeDim < 0 {
		return fmt.Errorf("classifier: CodeDim %d is negative", c.CodeDim)
	}
	if c.CodeDim > 0 && c.Head == HeadCLS {
		return fmt.Errorf("classifier: code embeddings need the %q or %q head", HeadLAAT, HeadMSAM)
	}
	if c.LAATDim < 0 {
		return fmt.Errorf("classifier: LAATDim %d is negative", c.LAATDim)
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		return fmt.Errorf("classifier: Dropout %g outside [0, 1)", c.Dropout)
	}
	return nil
}

// Truncated reports whether a document of n tokens (without specials)
// loses tokens to MaxTokens, so that callers can count such documents.
func (c Config) Truncated(n int) bool {
	return n > c.withDefaults().MaxTokens-2
}
