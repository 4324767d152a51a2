package demo

// demoCode is one code of the demo corpus: its official title, the phrasings
// notes use for it, and related codes it tends to come with.
type demoCode struct {
	code    string
	proc    bool
	title   string
	phrases []string
	with    []string // codes that co-occur with this one more often than chance
}

// codes are real ICD-10-CM diagnoses and ICD-10-PCS procedures with titles
// from the official tables and common clinical phrasings.
var codes = []demoCode{
	{code: "I10", title: "Essential (primary) hypertension", phrases: []string{"essential hypertension", "high blood pressure", "hypertensive disease", "longstanding hypertension"}, with: []string{"E78.5", "I25.10", "N18.9"}},
	{code: "E11.9", title: "Type 2 diabetes mellitus without complications", phrases: []string{"type 2 diabetes", "non-insulin-dependent diabetes mellitus", "adult-onset diabetes", "diabetes mellitus type II"}, with: []string{"I10", "E66.9", "E78.5"}},
	{code: "I50.9", title: "Heart failure, unspecified", phrases: []string{"congestive heart failure", "cardiac failure", "decompensated heart failure", "CHF exacerbation"}, with: []string{"I48.91", "I10", "N18.9"}},
	{code: "J18.9", title: "Pneumonia, unspecified organism", phrases: []string{"pneumonia", "community-acquired pneumonia", "lobar consolidation consistent with pneumonia", "lower respiratory tract infection"}, with: []string{"R50.9", "A41.9", "BW03ZZZ"}},
	{code: "N39.0", title: "Urinary tract infection, site not specified", phrases: []string{"urinary tract infection", "UTI", "cystitis with positive urine culture", "dysuria and pyuria"}, with: []string{"R50.9", "A41.9"}},
	{code: "I48.91", title: "Unspecified atrial fibrillation", phrases: []string{"atrial fibrillation", "irregularly irregular rhythm", "AF with rapid ventricular response", "paroxysmal atrial fibrillation"}, with: []string{"I50.9", "I63.9"}},
	{code: "J44.9", title: "Chronic obstructive pulmonary disease, unspecified", phrases: []string{"chronic obstructive pulmonary disease", "COPD", "chronic obstructive lung disease", "emphysema with chronic bronchitis"}, with: []string{"J18.9", "5A1955Z"}},
	{code: "N18.9", title: "Chronic kidney disease, unspecified", phrases: []string{"chronic kidney disease", "chronic renal insufficiency", "CKD", "impaired renal function of long standing"}, with: []string{"I10", "D64.9", "N17.9"}},
	{code: "E78.5", title: "Hyperlipidemia, unspecified", phrases: []string{"hyperlipidemia", "elevated cholesterol", "dyslipidemia", "high LDL on statin therapy"}, with: []string{"I25.10", "I10"}},
	{code: "F32.A", title: "Depression, unspecified", phrases: []string{"depression", "depressive disorder", "low mood and anhedonia", "major depressive symptoms"}},
	{code: "K21.9", title: "Gastro-esophageal reflux disease without esophagitis", phrases: []string{"gastroesophageal reflux disease", "GERD", "acid reflux", "heartburn on proton pump inhibitor"}},
	{code: "D64.9", title: "Anemia, unspecified", phrases: []string{"anemia", "low hemoglobin", "anaemia requiring transfusion", "microcytic anemia"}, with: []string{"N18.9"}},
	{code: "E03.9", title: "Hypothyroidism, unspecified", phrases: []string{"hypothyroidism", "underactive thyroid", "elevated TSH on levothyroxine"}},
	{code: "J45.909", title: "Unspecified asthma, uncomplicated", phrases: []string{"asthma", "reactive airway disease", "bronchial asthma", "wheezing relieved by albuterol"}},
	{code: "I25.10", title: "Atherosclerotic heart disease of native coronary artery without angina pectoris", phrases: []string{"coronary artery disease", "atherosclerotic heart disease", "CAD status post stenting", "triple vessel coronary disease"}, with: []string{"I10", "E78.5"}},
	{code: "A41.9", title: "Sepsis, unspecified organism", phrases: []string{"sepsis", "septicemia", "septic shock requiring pressors", "systemic inflammatory response to infection"}, with: []string{"N17.9", "0BH17EZ", "5A1955Z"}},
	{code: "N17.9", title: "Acute kidney failure, unspecified", phrases: []string{"acute kidney injury", "acute renal failure", "AKI with rising creatinine"}, with: []string{"A41.9", "E87.1"}},
	{code: "E87.1", title: "Hypo-osmolality and hyponatremia", phrases: []string{"hyponatremia", "low serum sodium", "hypo-osmolality"}},
	{code: "R50.9", title: "Fever, unspecified", phrases: []string{"fever", "pyrexia", "febrile episodes", "temperature spikes"}},
	{code: "G40.909", title: "Epilepsy, unspecified, not intractable, without status epilepticus", phrases: []string{"epilepsy", "seizure disorder", "generalized tonic-clonic seizures on levetiracetam"}},
	{code: "I63.9", title: "Cerebral infarction, unspecified", phrases: []string{"ischemic stroke", "cerebral infarction", "acute stroke with left hemiparesis", "CVA"}, with: []string{"I48.91", "I10"}},
	{code: "E66.9", title: "Obesity, unspecified", phrases: []string{"obesity", "BMI above 35", "morbid adiposity"}, with: []string{"E11.9"}},
	{code: "K57.30", title: "Diverticulosis of large intestine without perforation or abscess without bleeding", phrases: []string{"diverticulosis", "colonic diverticula", "sigmoid diverticular disease"}},
	{code: "0BH17EZ", proc: true, title: "Insertion of Endotracheal Airway into Trachea, Via Natural or Artificial Opening", phrases: []string{"endotracheal intubation", "intubated for airway protection", "placement of an endotracheal tube"}, with: []string{"5A1955Z"}},
	{code: "5A1955Z", proc: true, title: "Respiratory Ventilation, Greater than 96 Consecutive Hours", phrases: []string{"prolonged mechanical ventilation", "ventilator support for more than four days", "remained on the ventilator"}, with: []string{"0BH17EZ"}},
	{code: "BW03ZZZ", proc: true, title: "Plain Radiography of Chest", phrases: []string{"chest x-ray", "chest radiograph", "portable CXR"}},
}

// extraTerms are terminology entries that never appear in the notes, as a
// real terminology has many more strings than notes use.
var extraTerms = map[string][]string{
	"I10":     {"hypertension NOS", "primary hypertension"},
	"E11.9":   {"type II diabetes mellitus without complication", "NIDDM"},
	"I50.9":   {"heart failure NOS", "biventricular failure"},
	"J18.9":   {"pneumonia NOS", "bronchopneumonia, unspecified organism"},
	"N39.0":   {"urinary tract infection NOS", "bacteriuria"},
	"I48.91":  {"atrial fibrillation NOS", "auricular fibrillation"},
	"J44.9":   {"chronic obstructive airway disease NOS", "chronic bronchitis with emphysema"},
	"N18.9":   {"chronic renal disease", "chronic renal failure NOS"},
	"E78.5":   {"hyperlipoproteinemia", "lipidemia NOS"},
	"F32.A":   {"depressive episode NOS", "depression NOS"},
	"K21.9":   {"esophageal reflux NOS", "gastroesophageal reflux NOS"},
	"D64.9":   {"anemia NOS", "anaemia"},
	"E03.9":   {"myxedema", "hypothyroidism NOS"},
	"J45.909": {"asthma NOS", "allergic bronchitis NOS"},
	"I25.10":  {"coronary arteriosclerosis", "coronary artery atheroma"},
	"A41.9":   {"septicemia NOS", "generalized septic infection"},
	"N17.9":   {"acute renal insufficiency", "acute renal failure NOS"},
	"E87.1":   {"low sodium syndrome", "sodium deficiency"},
	"R50.9":   {"hyperpyrexia NOS", "pyrexia of unknown origin"},
	"G40.909": {"epileptic convulsions", "seizure disorder NOS"},
	"I63.9":   {"stroke NOS", "cerebrovascular accident with infarction"},
	"E66.9":   {"obesity NOS", "severe obesity"},
	"K57.30":  {"diverticula of colon", "diverticular disease of large intestine"},
	"0BH17EZ": {"ETT insertion", "tracheal intubation"},
	"5A1955Z": {"mechanical ventilation over 96 hours", "prolonged ventilatory support"},
	"BW03ZZZ": {"chest roentgenogram", "plain chest film"},
}
