package encoder

import (
	"fmt"

	"github.com/nlpodyssey/spago/nn"
)

// NamedParam is a parameter with a stable name.
type NamedParam struct {
	Name string
	P    *nn.Param
}

// NamedParams returns e's parameters (pooler excluded: classifiers and
// pretraining never run it) named "encoder.…" after their place in the
// structure, in a fixed order, so that checkpoints can be matched by name.
// The list is checked against e.Params(), so that a new encoder parameter
// cannot be silently left untrained.
func (e *Encoder[T]) NamedParams() ([]NamedParam, error) {
	var ps []NamedParam
	add := func(name string, p *nn.Param) { ps = append(ps, NamedParam{"encoder." + name, p}) }
	rows := func(name string, rs []*nn.Param) {
		for i, p := range rs {
			add(fmt.Sprintf("%s.%d", name, i), p)
		}
	}
	lin := func(name string, l *Linear) {
		if l != nil {
			add(name+".weight", l.W)
			add(name+".bias", l.B)
		}
	}
	norm := func(name string, n *Norm) {
		if n != nil {
			add(name+".gamma", n.Gamma)
			add(name+".beta", n.Beta)
		}
	}
	rows("embeddings.word", e.Embeddings.Word)
	rows("embeddings.position", e.Embeddings.Position)
	rows("embeddings.token_type", e.Embeddings.TokenType)
	norm("embeddings.norm", e.Embeddings.Norm)
	for i, l := range e.Layers {
		p := fmt.Sprintf("layer.%d.", i)
		norm(p+"pre_norm", l.PreNorm)
		lin(p+"qkv", &l.QKV)
		lin(p+"global_qkv", l.GlobalQKV)
		lin(p+"out", &l.Out)
		norm(p+"attn_norm", &l.AttnNorm)
		lin(p+"ff1", &l.FF1)
		lin(p+"ff2", &l.FF2)
		norm(p+"out_norm", l.OutNorm)
	}
	norm("final_norm", e.FinalNorm)
	all := e.Params()
	if e.Pooler != nil {
		all = all[:len(all)-2]
	}
	if len(all) != len(ps) {
		return nil, fmt.Errorf("encoder: the encoder has %d parameters, %d named", len(all), len(ps))
	}
	for i, p := range all {
		if ps[i].P != p {
			return nil, fmt.Errorf("encoder: parameter %d is not %s", i, ps[i].Name)
		}
	}
	return ps, nil
}
