//! Frustration score of a customer message (SPEC §4).
//!
//! French, Italian, English, Spanish and German are checked together,
//! whatever the contact's language. The built-in score adds shouting −0.4,
//! a run of three or more `!`/`?` −0.3, each negative word −0.3, each insult
//! −0.6 and each positive word +0.3, clamped to [−1, 1]. Words match with the
//! product rule of [`crate::text`]; negation words alone are neutral.

use crate::text::{PhraseSet, Words};
use std::sync::LazyLock;

/// How a message scored, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentiment {
    /// Clamped to [-1, 1].
    pub score: f32,
    /// At least 8 letters, at least 70 % of them capitals.
    pub shouting: bool,
    /// "!!!", "???", "?!?" — three or more of ! or ? in a row (counted once).
    pub punctuation_run: bool,
    /// Negative lexicon entries that matched (folded form), each once.
    pub negative: Vec<String>,
    /// Insult lexicon entries that matched (folded form), each once.
    pub insults: Vec<String>,
    /// Positive lexicon entries that matched (folded form), each once.
    pub positive: Vec<String>,
}

// Contributions, in tenths so the sum is exact.
const SHOUTING: i32 = -4;
const PUNCTUATION_RUN: i32 = -3;
const NEGATIVE: i32 = -3;
const INSULT: i32 = -6;
const POSITIVE: i32 = 3;

const MIN_SHOUT_LETTERS: usize = 8;
const MIN_RUN: usize = 3;

// Lexicons: folded (lowercase, no accents), words joined by one space.
// No entry is a negation word, none is in two classes, and none is a run of
// words inside another entry (so no message counts the same words twice).
// Words mostly seen negated in complaints ("pas satisfait", "not happy",
// "nicht zufrieden") are left out of the positive lists on purpose.

#[rustfmt::skip]
const NEGATIVE_FR: &[&str] = &[
    "inadmissible", "inacceptable", "scandaleux", "scandaleuse", "scandale", "honteux", "honteuse", "honte", "nul", "nulle", "nuls", "arnaque", "arnaques", "arnaqueurs", "escroc", "escrocs", "escroquerie", "voleurs", "toujours pas", "toujours rien", "toujours en attente", "jamais recu", "jamais recue", "jamais arrive", "jamais livre", "plus jamais", "ridicule", "furieux", "furieuse", "decu", "decue", "decus", "decevant", "deception", "lamentable", "pitoyable", "minable", "mediocre", "deplorable", "affreux", "epouvantable", "horrible", "terrible", "catastrophique", "catastrophe", "desastre", "desastreux", "insupportable", "intolerable", "absurde", "pire", "pourri", "pourrie", "incompetent", "incompetents", "incompetence", "inutile", "marre", "ras le bol", "agace", "agacee", "enerve", "enervee", "exaspere", "exasperee", "frustre", "frustree", "colere", "aucune reponse", "perte de temps", "n importe quoi", "foutage de gueule", "vous moquez", "cauchemar", "fraude", "degoute", "degoutee", "inadmissibles",
];

#[rustfmt::skip]
const NEGATIVE_IT: &[&str] = &[
    "vergogna", "vergognoso", "vergognosa", "vergognosi", "schifo", "schifoso", "schifosa", "inaccettabile", "inammissibile", "truffa", "truffatori", "ladri", "pessimo", "pessima", "pessimi", "ancora niente", "ancora nulla", "ancora in attesa", "mai arrivato", "mai arrivata", "mai ricevuto", "mai ricevuta", "mai piu", "arrabbiato", "arrabbiata", "incazzato", "incazzata", "furioso", "furiosa", "deluso", "delusa", "delusi", "deludente", "delusione", "scandaloso", "scandalosa", "scandalo", "assurdo", "assurda", "ridicolo", "ridicola", "orribile", "terribile", "disastro", "disastroso", "incompetente", "incompetenti", "inutile", "inutili", "stufo", "stufa", "indecente", "penoso", "pietoso", "squallido", "vergognatevi", "peggiore", "peggio", "insopportabile", "nessuna risposta", "perdita di tempo", "presa in giro", "frode", "frustrato", "frustrata", "incubo", "rabbia", "imbarazzante", "indegno", "patetico", "mediocre",
];

#[rustfmt::skip]
const NEGATIVE_EN: &[&str] = &[
    "terrible", "awful", "horrible", "useless", "scam", "scammers", "ridiculous", "unacceptable", "inadmissible", "still not", "still haven t", "still hasn t", "still nothing", "still waiting", "never received", "never arrived", "never got", "never again", "worst", "worse", "angry", "furious", "livid", "pissed", "disappointed", "disappointing", "disappointment", "fed up", "sick of", "tired of", "pathetic", "disgrace", "disgraceful", "shameful", "outrageous", "scandal", "scandalous", "absurd", "incompetent", "incompetence", "a joke", "rubbish", "garbage", "fraud", "rip off", "ripoff", "annoyed", "annoying", "frustrated", "frustrating", "waste of time", "lousy", "appalling", "dreadful", "disgusting", "nightmare", "hopeless", "sucks", "hate", "no response", "no answer", "mess", "catastrophe", "deplorable", "intolerable", "mediocre", "shocking",
];

#[rustfmt::skip]
const NEGATIVE_ES: &[&str] = &[
    "verguenza", "vergonzoso", "vergonzosa", "estafa", "estafadores", "ladrones", "inaceptable", "inadmisible", "pesimo", "pesima", "pesimos", "harto", "harta", "hartos", "hasta las narices", "decepcionado", "decepcionada", "decepcionante", "decepcion", "furioso", "furiosa", "enfadado", "enfadada", "cabreado", "cabreada", "molesto", "molesta", "indignante", "indignado", "indignada", "escandalo", "escandaloso", "horrible", "terrible", "desastre", "lamentable", "penoso", "patetico", "ridiculo", "ridicula", "absurdo", "inutil", "inutiles", "incompetente", "incompetentes", "todavia nada", "todavia no", "aun no", "aun nada", "sigo esperando", "nunca llego", "nunca me llego", "nunca recibi", "nunca mas", "basura", "engano", "tomadura de pelo", "asco", "malisimo", "peor", "ninguna respuesta", "perdida de tiempo", "pesadilla", "fraude", "frustrado", "frustrada", "rabia", "indecente", "deplorable", "intolerable",
];

#[rustfmt::skip]
const NEGATIVE_DE: &[&str] = &[
    "unverschamt", "unverschaemt", "frechheit", "betrug", "betruger", "betrueger", "betrugerisch", "abzocke", "abzocker", "inakzeptabel", "enttauscht", "enttaeuscht", "enttauschend", "enttauschung", "katastrophal", "katastrophe", "schlecht", "schlechter", "schlechteste", "miserabel", "furchtbar", "schrecklich", "grauenhaft", "lacherlich", "laecherlich", "sauer", "wutend", "wuetend", "verargert", "genervt", "nervig", "argerlich", "immer noch nicht", "noch immer nicht", "immer noch kein", "immer noch keine", "warte immer noch", "nie erhalten", "nie angekommen", "nie bekommen", "nie geliefert", "nie wieder", "unmoglich", "unmoeglich", "skandal", "skandalos", "zumutung", "unzumutbar", "schande", "nutzlos", "inkompetent", "unfahig", "peinlich", "armselig", "absurd", "ein witz", "die nase voll", "mies", "mangelhaft", "ungenugend", "zeitverschwendung", "keine antwort", "albtraum", "frustriert", "verarsche", "verarschung", "blodsinn", "wut",
];

#[rustfmt::skip]
const INSULTS_FR: &[&str] = &[
    "idiot", "idiots", "idiote", "connard", "connards", "connasse", "stupide", "stupides", "imbecile", "imbeciles", "merde", "putain", "abruti", "abrutis", "cretin", "cretins", "tocard", "tocards", "salaud", "salauds", "salope", "enfoire", "enfoires", "encule", "encules", "batard", "batards", "bordel", "chier", "ta gueule", "bouffon", "bouffons", "guignols", "nique",
];

#[rustfmt::skip]
const INSULTS_IT: &[&str] = &[
    "stronzo", "stronzi", "stronzata", "cazzo", "cazzi", "cazzate", "vaffanculo", "fanculo", "merda", "coglione", "coglioni", "idiota", "idioti", "cretino", "cretini", "imbecille", "imbecilli", "deficiente", "deficienti", "scemo", "scemi", "stupido", "stupidi", "minchia", "puttana", "porca miseria", "bastardo", "bastardi", "pagliacci", "pagliaccio", "buffoni",
];

#[rustfmt::skip]
const INSULTS_EN: &[&str] = &[
    "idiot", "idiots", "stupid", "moron", "morons", "dumb", "crap", "crappy", "shit", "shitty", "bullshit", "damn", "dammit", "goddamn", "fuck", "fucking", "fucked", "wtf", "asshole", "assholes", "bastard", "bastards", "jerk", "jerks", "clowns", "screw you", "piss off", "imbecile", "imbeciles", "bloody hell", "dumbass", "retarded",
];

#[rustfmt::skip]
const INSULTS_ES: &[&str] = &[
    "mierda", "gilipollas", "idiota", "idiotas", "imbecil", "imbeciles", "estupido", "estupida", "estupidos", "cabron", "cabrones", "joder", "jodido", "jodidos", "puta", "pendejo", "pendejos", "capullo", "capullos", "subnormal", "subnormales", "maldito", "maldita", "carajo", "me cago", "cretino", "tonto", "tontos", "payaso", "payasos", "deficiente", "hostias",
];

#[rustfmt::skip]
const INSULTS_DE: &[&str] = &[
    "scheisse", "scheiss", "scheissladen", "arschloch", "arschlocher", "arsch", "idiot", "idioten", "vollidiot", "vollidioten", "depp", "deppen", "trottel", "wichser", "dummkopf", "blod", "blode", "bloder", "dumm", "dumme", "stupid", "kacke", "verdammt", "verdammte", "verdammter", "bescheuert", "penner", "hurensohn", "vollpfosten", "idiotisch", "schwachsinn", "verpiss dich",
];

#[rustfmt::skip]
const POSITIVE_FR: &[&str] = &[
    "merci", "parfait", "parfaite", "super", "genial", "geniale", "excellent", "excellente", "formidable", "impeccable", "c est nickel", "ravi", "ravie", "merveilleux", "magnifique", "efficace", "tres bien", "remercie", "aimable", "sympa", "felicitations", "agreable", "fantastique", "top service", "au top",
];

#[rustfmt::skip]
const POSITIVE_IT: &[&str] = &[
    "grazie", "perfetto", "perfetta", "ottimo", "ottima", "eccellente", "fantastico", "fantastica", "bravi", "molto gentile", "felice", "splendido", "magnifico", "meraviglioso", "efficiente", "ringrazio", "apprezzo", "super", "geniale", "complimenti", "molto bene", "eccezionale", "stupendo", "benissimo", "ottimamente",
];

#[rustfmt::skip]
const POSITIVE_EN: &[&str] = &[
    "thanks", "thank you", "great", "perfect", "excellent", "awesome", "amazing", "wonderful", "fantastic", "brilliant", "appreciate", "appreciated", "glad", "love it", "lovely", "cheers", "well done", "good job", "super", "grateful", "superb", "outstanding", "impeccable",
];

#[rustfmt::skip]
const POSITIVE_ES: &[&str] = &[
    "gracias", "perfecto", "perfecta", "genial", "excelente", "estupendo", "estupenda", "fantastico", "maravilloso", "encantado", "encantada", "feliz", "amable", "buenisimo", "agradezco", "agradecido", "agradecida", "eficiente", "de maravilla", "bien hecho", "buen trabajo", "magnifico", "guay", "felicidades", "super",
];

#[rustfmt::skip]
const POSITIVE_DE: &[&str] = &[
    "danke", "vielen dank", "herzlichen dank", "besten dank", "tausend dank", "super", "perfekt", "wunderbar", "hervorragend", "ausgezeichnet", "genial", "sehr gut", "freundlich", "dankbar", "glucklich", "froh", "begeistert", "fantastisch", "bestens", "einwandfrei", "spitzenmassig", "klasse service", "sehr nett", "erstklassig",
];

#[rustfmt::skip]
const NEGATIVE_LISTS: [&[&str]; 5] = [NEGATIVE_FR, NEGATIVE_IT, NEGATIVE_EN, NEGATIVE_ES, NEGATIVE_DE];
#[rustfmt::skip]
const INSULT_LISTS: [&[&str]; 5] = [INSULTS_FR, INSULTS_IT, INSULTS_EN, INSULTS_ES, INSULTS_DE];
#[rustfmt::skip]
const POSITIVE_LISTS: [&[&str]; 5] = [POSITIVE_FR, POSITIVE_IT, POSITIVE_EN, POSITIVE_ES, POSITIVE_DE];

/// Scores `text` for frustration: negative and insulting words, shouting and
/// runs of `!`/`?` lower the score, positive words raise it.
pub fn score(text: &str) -> Sentiment {
    let words = Words::new(text);
    let [negative, insults, positive] = &*LEXICONS;
    let negative = matches(&words, negative);
    let insults = matches(&words, insults);
    let positive = matches(&words, positive);
    let shouting = is_shouting(text);
    let punctuation_run = has_punctuation_run(text);

    let mut tenths =
        weight(&negative, NEGATIVE) + weight(&insults, INSULT) + weight(&positive, POSITIVE);
    if shouting {
        tenths += SHOUTING;
    }
    if punctuation_run {
        tenths += PUNCTUATION_RUN;
    }
    let score = tenths.clamp(-10, 10) as f32 / 10.0;

    Sentiment {
        score,
        shouting,
        punctuation_run,
        negative,
        insults,
        positive,
    }
}

/// The three lexicons, indexed once per process.
static LEXICONS: LazyLock<[PhraseSet; 3]> = LazyLock::new(|| {
    [NEGATIVE_LISTS, INSULT_LISTS, POSITIVE_LISTS]
        .map(|lists| PhraseSet::new(lists.iter().flat_map(|l| l.iter())))
});

/// The distinct entries of a lexicon found in `words`, in lexicon order.
fn matches(words: &Words, lexicon: &PhraseSet) -> Vec<String> {
    lexicon
        .matches(words)
        .into_iter()
        .fold(Vec::new(), |mut found, entry| {
            if !found.iter().any(|f| f == entry) {
                found.push(entry.to_owned());
            }
            found
        })
}

fn weight(found: &[String], each: i32) -> i32 {
    i32::try_from(found.len())
        .unwrap_or(i32::MAX / 10)
        .saturating_mul(each)
}

/// At least 8 letters in the whole message, at least 70 % of them uppercase.
fn is_shouting(text: &str) -> bool {
    let (letters, upper) = text
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0usize, 0usize), |(l, u), c| {
            (l + 1, u + usize::from(c.is_uppercase()))
        });
    letters >= MIN_SHOUT_LETTERS && upper.saturating_mul(10) >= letters.saturating_mul(7)
}

/// Three or more `!`/`?` in a row, mixed or not.
fn has_punctuation_run(text: &str) -> bool {
    let mut run = 0usize;
    for c in text.chars() {
        if c == '!' || c == '?' {
            run += 1;
            if run >= MIN_RUN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{fold, words};

    const NEGATIONS: &[&str] = &[
        "non", "pas", "not", "no", "nicht", "kein", "keine", "nein", "ne", "nessuno", "nada",
        "nunca", "jamais", "never", "mai", "nie",
    ];

    fn all_lists() -> Vec<(&'static str, &'static [&'static str])> {
        let mut out = Vec::new();
        for (class, lists) in [
            ("negative", NEGATIVE_LISTS),
            ("insult", INSULT_LISTS),
            ("positive", POSITIVE_LISTS),
        ] {
            for list in lists {
                out.push((class, list));
            }
        }
        out
    }

    fn approx(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn lexicon_entries_are_folded_and_not_negations() {
        for (class, list) in all_lists() {
            for &entry in list {
                assert_eq!(fold(entry), entry, "{class} entry {entry:?} is not folded");
                assert_eq!(
                    words(entry).join(" "),
                    entry,
                    "{class} entry {entry:?} is not space-joined words"
                );
                assert!(
                    !NEGATIONS.contains(&entry),
                    "{class} entry {entry:?} is a negation word"
                );
            }
        }
    }

    #[test]
    fn lexicon_sizes_are_in_range() {
        for (class, lists, lo, hi) in [
            ("negative", NEGATIVE_LISTS, 40, 80),
            ("insult", INSULT_LISTS, 20, 40),
            ("positive", POSITIVE_LISTS, 20, 40),
        ] {
            for list in lists {
                assert!(
                    (lo..=hi).contains(&list.len()),
                    "{class} list of {} entries starting {:?}",
                    list.len(),
                    list.first()
                );
            }
        }
    }

    #[test]
    fn no_entry_in_two_classes_and_no_entry_inside_another() {
        let mut entries: Vec<(&str, &str)> = Vec::new();
        for (class, list) in all_lists() {
            for &entry in list {
                if let Some((other, _)) = entries.iter().find(|(_, e)| *e == entry) {
                    assert_eq!(*other, class, "{entry:?} is both {other} and {class}");
                } else {
                    entries.push((class, entry));
                }
            }
        }
        for (_, a) in &entries {
            let words_a = Words::new(a);
            for (_, b) in &entries {
                if a != b {
                    assert!(
                        !words_a.contains_phrase(b),
                        "{b:?} is inside {a:?}: a message would count it twice"
                    );
                }
            }
        }
    }

    #[test]
    fn same_language_lists_have_no_duplicates() {
        for (class, list) in all_lists() {
            for (i, a) in list.iter().enumerate() {
                assert!(
                    !list.iter().skip(i + 1).any(|b| b == a),
                    "{class} duplicate {a:?}"
                );
            }
        }
    }

    #[test]
    fn score_table() {
        // (text, score, shouting, run)
        let cases: &[(&str, f32, bool, bool)] = &[
            ("Bonjour, où est ma commande A123 ?", 0.0, false, false),
            ("OK", 0.0, false, false),
            ("A123", 0.0, false, false),
            ("C'EST INADMISSIBLE !!!", -1.0, true, true),
            ("Merci beaucoup, parfait", 0.6, false, false),
            ("non", 0.0, false, false),
            ("pas", 0.0, false, false),
            ("not", 0.0, false, false),
            ("no", 0.0, false, false),
            ("nein, nicht, kein", 0.0, false, false),
            ("che schifo, servizio pessimo", -0.6, false, false),
            ("es una estafa, estoy harto", -0.6, false, false),
            ("Das ist eine Frechheit!!!", -0.6, false, true),
            (
                "this is ridiculous, still not delivered",
                -0.6,
                false,
                false,
            ),
            ("espèce d'idiot", -0.6, false, false),
            ("???", -0.3, false, true),
            ("?!?", -0.3, false, true),
            ("Vraiment ?!", 0.0, false, false),
            ("Quoi !! Où ??", 0.0, false, false),
            ("CA NE MARCHE PAS", -0.4, true, false),
            ("Ça ne marche pas", 0.0, false, false),
            ("Merci merci MERCI", 0.3, false, false),
            ("Je n'ai toujours pas reçu ma commande", -0.3, false, false),
            ("J'en ai marre, c'est nul", -0.6, false, false),
            ("", 0.0, false, false),
            ("Thank you, great job", 0.6, false, false),
            ("Vielen Dank, perfekt", 0.6, false, false),
            ("Gracias, todo perfecto", 0.6, false, false),
            ("Grazie mille, perfetto", 0.6, false, false),
            ("Straße Scheiße", -0.6, false, false),
            ("Je ne suis pas satisfait", 0.0, false, false),
            ("I'm not happy with this", 0.0, false, false),
            ("Gentile cliente, il segnale è debole", 0.0, false, false),
            ("Livraison à Nice, merci", 0.3, false, false),
        ];
        for &(text, want, shouting, run) in cases {
            let s = score(text);
            assert!(
                approx(s.score, want),
                "{text:?}: score {} want {want} ({s:?})",
                s.score
            );
            assert_eq!(s.shouting, shouting, "{text:?} shouting");
            assert_eq!(s.punctuation_run, run, "{text:?} run");
        }
    }

    #[test]
    fn spec_examples_by_sign() {
        assert!(score("C'EST INADMISSIBLE !!!").score <= -1.0);
        assert!(score("Merci beaucoup, parfait").score > 0.0);
        for text in [
            "che schifo, servizio pessimo",
            "es una estafa, estoy harto",
            "Das ist eine Frechheit!!!",
            "this is ridiculous, still not delivered",
        ] {
            assert!(score(text).score < -0.5, "{text:?}");
        }
    }

    #[test]
    fn matched_entries_are_reported_once_in_folded_form() {
        let s = score("Scandaleux, SCANDALEUX ! Quelle honte, merci pour rien, connard");
        assert_eq!(s.negative, ["scandaleux", "honte"]);
        assert_eq!(s.insults, ["connard"]);
        assert_eq!(s.positive, ["merci"]);
        assert!(approx(s.score, -0.3 - 0.3 - 0.6 + 0.3));

        let s = score("super super super");
        assert_eq!(s.positive, ["super"]);
        assert!(approx(s.score, 0.3));

        let s = score("Enttäuscht und wütend");
        assert_eq!(s.negative, ["enttauscht", "wutend"]);
    }

    #[test]
    fn many_negatives_clamp_to_minus_one() {
        let s = score("terrible awful useless scam ridiculous unacceptable worst");
        assert_eq!(s.negative.len(), 7);
        assert!(approx(s.score, -1.0));
        let s = score("merci grazie thanks gracias danke parfait perfect");
        assert!(approx(s.score, 1.0));
    }

    #[test]
    fn score_always_in_range() {
        let mut all: Vec<&str> = Vec::new();
        for (_, list) in all_lists() {
            all.extend_from_slice(list);
        }
        let everything = all.join(" ").to_uppercase() + " !!!???";
        let inputs = [
            everything.as_str(),
            "IDIOT CONNARD MERDE PUTAIN STRONZO CAZZO !!!!!!!!",
            "merci merci parfait super génial thanks great perfect grazie gracias danke",
            "😡😡😡 !!!??? 💩",
            "مرحبا Привет 你好 !!!",
            "\u{301}\u{301}!\u{200d}?!",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "ÉÉÉÉÉÉÉÉÉÉ",
            "",
        ];
        for text in inputs {
            let s = score(text);
            assert!((-1.0..=1.0).contains(&s.score), "{text:?}: {}", s.score);
        }
        assert!(approx(score(&everything).score, -1.0));
    }

    #[test]
    fn shouting_rule() {
        assert!(!is_shouting("ABCDEFG"));
        assert!(is_shouting("ABCDEFGH"));
        assert!(is_shouting("ABCDEFGhij"));
        assert!(!is_shouting("ABCDEFghij"));
        assert!(!is_shouting("A123 B456 C789 OK"));
        assert!(is_shouting("ÇA NE MARCHE PAS"));
    }
}
