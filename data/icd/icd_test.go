package icd

import "testing"

func TestNormalize(t *testing.T) {
	cases := []struct {
		in   string
		sys  System
		kind Kind
		want string
	}{
		{"4019", ICD9, Diagnosis, "401.9"},
		{"401.9", ICD9, Diagnosis, "401.9"},
		{" 99591 ", ICD9, Diagnosis, "995.91"},
		{"E8497", ICD9, Diagnosis, "E849.7"},
		{"E849", ICD9, Diagnosis, "E849"},
		{"V5861", ICD9, Diagnosis, "V58.61"},
		{"v5861", ICD9, Diagnosis, "V58.61"},
		{"042", ICD9, Diagnosis, "042"},
		{"3893", ICD9, Procedure, "38.93"},
		{"9604", ICD9, Procedure, "96.04"},
		{"01", ICD9, Procedure, "01"},
		{"n44.8", ICD10, Diagnosis, "N44.8"},
		{"I509", ICD10, Diagnosis, "I50.9"},
		{"s22.39x", ICD10, Diagnosis, "S22.39X"},
		{"R69", ICD10, Diagnosis, "R69"},
		{"bw03zzz", ICD10, Procedure, "BW03ZZZ"},
		{"bw20", ICD10, Procedure, "BW20"},
	}
	for _, c := range cases {
		got, err := Normalize(c.in, c.sys, c.kind)
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q, %s, %s) = %q, %v; want %q", c.in, c.sys, c.kind, got, err, c.want)
		}
	}
	bad := []struct {
		in   string
		sys  System
		kind Kind
	}{
		{"", ICD9, Diagnosis},
		{"nan", ICD9, Diagnosis},
		{"40", ICD9, Diagnosis},
		{"401999", ICD9, Diagnosis},
		{"E84", ICD9, Diagnosis},
		{"12345", ICD9, Procedure},
		{"A1", ICD10, Diagnosis},
		{"1A0", ICD10, Diagnosis},
		{"A00-A09", ICD10, Diagnosis},
		{"0BH1.7EZ", ICD10, Procedure},
		{"0IH17EZ", ICD10, Procedure},
		{"0BH17EZ1", ICD10, Procedure},
	}
	for _, c := range bad {
		if got, err := Normalize(c.in, c.sys, c.kind); err == nil {
			t.Errorf("Normalize(%q, %s, %s) = %q, want an error", c.in, c.sys, c.kind, got)
		}
	}
}

// The reference's reformat_icd9 dots only codes longer than the prefix.
func TestFormatICD9MatchesReference(t *testing.T) {
	cases := map[[2]string]string{
		{"E8497", "d"}: "E849.7", {"E849", "d"}: "E849", {"0389", "d"}: "038.9",
		{"389", "d"}: "389", {"3893", "p"}: "38.93", {"38", "p"}: "38", {"38.93", "p"}: "38.93",
	}
	for in, want := range cases {
		kind := Diagnosis
		if in[1] == "p" {
			kind = Procedure
		}
		if got := FormatICD9(in[0], kind); got != want {
			t.Errorf("FormatICD9(%q, %s) = %q, want %q", in[0], kind, got, want)
		}
	}
}

func TestParent(t *testing.T) {
	for in, want := range map[string]string{"S22.39X": "S22.39", "S22.3": "S22", "S22": "", "401.91": "401.9", "BW03ZZZ": "BW03ZZ"} {
		if got := Parent(in); got != want {
			t.Errorf("Parent(%q) = %q, want %q", in, got, want)
		}
	}
}
