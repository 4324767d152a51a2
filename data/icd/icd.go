// Package icd normalises and validates ICD codes: ICD-9-CM diagnoses and
// procedures (dotted as MIMIC-III pipelines do), ICD-10-CM diagnoses and
// ICD-10-PCS procedures. Every dataset and synonym source goes through here so
// that one code has one spelling everywhere in icdcode.
package icd

import (
	"fmt"
	"strings"
)

// System is a code system.
type System string

const (
	ICD9  System = "icd9"
	ICD10 System = "icd10"
)

// ParseSystem reads a code-system name as given on the command line.
func ParseSystem(s string) (System, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "icd9", "icd-9", "icd9cm", "icd-9-cm":
		return ICD9, nil
	case "icd10", "icd-10", "icd10cm", "icd-10-cm":
		return ICD10, nil
	}
	return "", fmt.Errorf("unknown code system %q (want icd9 or icd10)", s)
}

// Kind says whether a code is a diagnosis or a procedure.
type Kind string

const (
	Diagnosis Kind = "diagnosis"
	Procedure Kind = "procedure"
)

// Normalize returns the canonical spelling of code in the given system and kind:
// upper case, surrounding space removed, dotted the way icdcode stores codes.
//
//   - ICD-9 diagnoses: dot after 3 characters, E-codes after 4 (401.9, E849.7, V58.61);
//   - ICD-9 procedures: dot after 2 characters (96.04);
//   - ICD-10-CM: dot after 3 characters (I50.9, S22.39X);
//   - ICD-10-PCS: no dot, 3 to 7 characters of the PCS alphabet (0BH17EZ; CodiEsp
//     also labels 4-character PCS prefixes such as BW20).
//
// Input may be dotted or not. An empty or malformed code is an error that names
// the code; callers add the file, line and field.
func Normalize(code string, sys System, kind Kind) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if c == "" {
		return "", fmt.Errorf("empty code")
	}
	bare := strings.ReplaceAll(c, ".", "")
	switch {
	case sys == ICD9 && kind == Diagnosis:
		if !validICD9Diagnosis(bare) {
			return "", fmt.Errorf("%q is not an ICD-9-CM diagnosis code", code)
		}
		return FormatICD9(bare, Diagnosis), nil
	case sys == ICD9 && kind == Procedure:
		if !allDigits(bare) || len(bare) < 2 || len(bare) > 4 {
			return "", fmt.Errorf("%q is not an ICD-9-CM procedure code", code)
		}
		return FormatICD9(bare, Procedure), nil
	case sys == ICD10 && kind == Diagnosis:
		if !validICD10CM(bare) {
			return "", fmt.Errorf("%q is not an ICD-10-CM diagnosis code", code)
		}
		if len(bare) > 3 {
			return bare[:3] + "." + bare[3:], nil
		}
		return bare, nil
	case sys == ICD10 && kind == Procedure:
		if strings.Contains(c, ".") || !validPCS(bare) {
			return "", fmt.Errorf("%q is not an ICD-10-PCS procedure code", code)
		}
		return bare, nil
	}
	return "", fmt.Errorf("unknown code system %q or kind %q", sys, kind)
}

// FormatICD9 dots an ICD-9 code exactly as the MIMIC-III reference pipelines do
// (reformat_icd9 of CAML and Edin et al.): any existing dots are removed, then
// diagnoses get a dot after 3 characters (after 4 for E-codes) and procedures
// after 2, when the code is longer than that.
func FormatICD9(code string, kind Kind) string {
	c := strings.ReplaceAll(code, ".", "")
	at := 3
	switch {
	case kind == Procedure:
		at = 2
	case strings.HasPrefix(c, "E"):
		at = 4
	}
	if len(c) > at {
		return c[:at] + "." + c[at:]
	}
	return c
}

// Parent returns the code one level up the hierarchy by dropping the last
// character (and a trailing dot), or "" at a 3-character category. ICD-10-PCS
// codes are positional, so their parent is the shorter prefix too.
func Parent(code string) string {
	c := strings.TrimSuffix(code, ".")
	if len(c) <= 3 {
		return ""
	}
	c = c[:len(c)-1]
	return strings.TrimSuffix(c, ".")
}

func validICD9Diagnosis(c string) bool {
	switch {
	case c == "":
		return false
	case c[0] == 'V':
		return len(c) >= 3 && len(c) <= 5 && allDigits(c[1:])
	case c[0] == 'E':
		return len(c) >= 4 && len(c) <= 5 && allDigits(c[1:])
	default:
		return len(c) >= 3 && len(c) <= 5 && allDigits(c)
	}
}

func validICD10CM(c string) bool {
	if len(c) < 3 || len(c) > 7 {
		return false
	}
	if c[0] < 'A' || c[0] > 'Z' || c[1] < '0' || c[1] > '9' {
		return false
	}
	for i := 2; i < len(c); i++ {
		if !isAlnum(c[i]) {
			return false
		}
	}
	return true
}

// validPCS accepts 3 to 7 characters of the ICD-10-PCS alphabet (digits and
// letters except I and O).
func validPCS(c string) bool {
	if len(c) < 3 || len(c) > 7 {
		return false
	}
	for i := 0; i < len(c); i++ {
		b := c[i]
		if !isAlnum(b) || b == 'I' || b == 'O' {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnum(b byte) bool { return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') }
