//! Relais's own words to customers, in French, English, Italian, Spanish and German,
//! used where a flow does not give its own text.

/// A built-in message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording {
    /// An unrecognised reply with no `invalid` message.
    Invalid,
    /// A reply that fails `expect`, per validator.
    ExpectNumber,
    ExpectEmail,
    ExpectPhone,
    ExpectDate,
    ExpectYesNo,
    ExpectText,
    /// Handoff while the team is open.
    Transfer,
    /// Added to `Transfer` when the customer waits in a queue; `{position}` is replaced.
    QueuePosition,
    /// Added after `QueuePosition` when a wait can be estimated; `{wait}` is replaced.
    QueueWait,
    /// Handoff outside the team's hours; `{opens_at}` is replaced.
    TransferClosed,
    /// Handoff outside hours when the opening time is unknown.
    TransferClosedUnknown,
    /// The buttons of an `answer`'s `confirm` question.
    Yes,
    No,
}

/// The text in `language`, else English.
// Long by design: a table, one arm per built-in text and language.
pub fn text(w: Wording, language: &str) -> &'static str {
    use Wording::*;
    match (w, language) {
        (Yes, "fr") => "Oui",
        (Yes, "it") => "Sì",
        (Yes, "es") => "Sí",
        (Yes, "de") => "Ja",
        (Yes, _) => "Yes",
        (No, "fr") => "Non",
        (No, "it") => "No",
        (No, "es") => "No",
        (No, "de") => "Nein",
        (No, _) => "No",
        (Invalid, "fr") => "Désolé, je n'ai pas compris. Pouvez-vous reformuler ?",
        (Invalid, "it") => "Mi dispiace, non ho capito. Può riformulare?",
        (Invalid, "es") => "Lo siento, no he entendido. ¿Puede reformularlo?",
        (Invalid, "de") => {
            "Entschuldigung, das habe ich nicht verstanden. Können Sie es anders formulieren?"
        }
        (Invalid, _) => "Sorry, I didn't understand. Could you rephrase?",
        (ExpectNumber, "fr") => "Merci d'indiquer un nombre.",
        (ExpectNumber, "it") => "Per favore, indichi un numero.",
        (ExpectNumber, "es") => "Por favor, indique un número.",
        (ExpectNumber, "de") => "Bitte geben Sie eine Zahl an.",
        (ExpectNumber, _) => "Please give a number.",
        (ExpectEmail, "fr") => "Cette adresse e-mail ne semble pas valide.",
        (ExpectEmail, "it") => "Questo indirizzo e-mail non sembra valido.",
        (ExpectEmail, "es") => "Esta dirección de correo no parece válida.",
        (ExpectEmail, "de") => "Diese E-Mail-Adresse scheint ungültig zu sein.",
        (ExpectEmail, _) => "That email address does not look valid.",
        (ExpectPhone, "fr") => "Ce numéro de téléphone ne semble pas valide.",
        (ExpectPhone, "it") => "Questo numero di telefono non sembra valido.",
        (ExpectPhone, "es") => "Este número de teléfono no parece válido.",
        (ExpectPhone, "de") => "Diese Telefonnummer scheint ungültig zu sein.",
        (ExpectPhone, _) => "That phone number does not look valid.",
        (ExpectDate, "fr") => "Merci d'indiquer une date, par exemple 24/12/2026.",
        (ExpectDate, "it") => "Per favore, indichi una data, ad esempio 24/12/2026.",
        (ExpectDate, "es") => "Por favor, indique una fecha, por ejemplo 24/12/2026.",
        (ExpectDate, "de") => "Bitte geben Sie ein Datum an, zum Beispiel 24.12.2026.",
        (ExpectDate, _) => "Please give a date, for example 2026-12-24.",
        (ExpectYesNo, "fr") => "Merci de répondre par oui ou par non.",
        (ExpectYesNo, "it") => "Per favore, risponda sì o no.",
        (ExpectYesNo, "es") => "Por favor, responda sí o no.",
        (ExpectYesNo, "de") => "Bitte antworten Sie mit Ja oder Nein.",
        (ExpectYesNo, _) => "Please answer yes or no.",
        (ExpectText, "fr") => "Merci d'écrire votre réponse.",
        (ExpectText, "it") => "Per favore, scriva la sua risposta.",
        (ExpectText, "es") => "Por favor, escriba su respuesta.",
        (ExpectText, "de") => "Bitte schreiben Sie Ihre Antwort.",
        (ExpectText, _) => "Please write your answer.",
        (Transfer, "fr") => {
            "Je vous transfère à un conseiller. Merci de patienter, quelqu'un va vous répondre."
        }
        (Transfer, "it") => {
            "La sto trasferendo a un operatore. Attenda, qualcuno le risponderà a breve."
        }
        (Transfer, "es") => {
            "Le paso con un agente. Por favor, espere: alguien le responderá enseguida."
        }
        (Transfer, "de") => {
            "Ich leite Sie an einen Mitarbeiter weiter. Bitte haben Sie einen Moment Geduld."
        }
        (Transfer, _) => {
            "I'm transferring you to an agent. Please hold on, someone will answer you shortly."
        }
        (QueuePosition, "fr") => "Vous êtes en position {position} dans la file d'attente.",
        (QueuePosition, "it") => "Lei è in posizione {position} nella coda.",
        (QueuePosition, "es") => "Está en la posición {position} de la cola.",
        (QueuePosition, "de") => "Sie sind an Position {position} in der Warteschlange.",
        (QueuePosition, _) => "You are number {position} in the queue.",
        (QueueWait, "fr") => "Attente estimée : {wait}.",
        (QueueWait, "it") => "Attesa stimata: {wait}.",
        (QueueWait, "es") => "Espera estimada: {wait}.",
        (QueueWait, "de") => "Geschätzte Wartezeit: {wait}.",
        (QueueWait, _) => "Estimated wait: {wait}.",
        (TransferClosed, "fr") => {
            "Nos conseillers sont absents pour le moment ; ils seront de retour le {opens_at}. Votre demande est enregistrée et vous aurez une réponse dès leur retour. Vous pouvez aussi nous écrire par e-mail."
        }
        (TransferClosed, "it") => {
            "I nostri operatori non sono disponibili ora; torneranno il {opens_at}. La sua richiesta è registrata e riceverà una risposta al loro rientro. Può anche scriverci via e-mail."
        }
        (TransferClosed, "es") => {
            "Nuestros agentes no están disponibles ahora; volverán el {opens_at}. Su solicitud queda registrada y recibirá respuesta a su regreso. También puede escribirnos por correo."
        }
        (TransferClosed, "de") => {
            "Unsere Mitarbeiter sind gerade nicht erreichbar; sie sind ab {opens_at} wieder da. Ihre Anfrage ist gespeichert und wird dann beantwortet. Sie können uns auch per E-Mail schreiben."
        }
        (TransferClosed, _) => {
            "Our agents are away right now; they will be back on {opens_at}. Your request is saved and you will get an answer when they return. You can also write to us by email."
        }
        (TransferClosedUnknown, "fr") => {
            "Nos conseillers sont absents pour le moment. Votre demande est enregistrée et vous aurez une réponse dès leur retour."
        }
        (TransferClosedUnknown, "it") => {
            "I nostri operatori non sono disponibili ora. La sua richiesta è registrata e riceverà una risposta al loro rientro."
        }
        (TransferClosedUnknown, "es") => {
            "Nuestros agentes no están disponibles ahora. Su solicitud queda registrada y recibirá respuesta a su regreso."
        }
        (TransferClosedUnknown, "de") => {
            "Unsere Mitarbeiter sind gerade nicht erreichbar. Ihre Anfrage ist gespeichert und wird beantwortet, sobald sie zurück sind."
        }
        (TransferClosedUnknown, _) => {
            "Our agents are away right now. Your request is saved and you will get an answer when they return."
        }
    }
}

/// Yes/no words of the five languages, folded.
pub const YES: [&str; 16] = [
    "oui", "ouais", "yes", "yeah", "yep", "y", "si", "sim", "ja", "jawohl", "ok", "okay",
    "d accord", "certo", "claro", "genau",
];
pub const NO: [&str; 10] = [
    "non",
    "no",
    "nope",
    "n",
    "nein",
    "nee",
    "pas du tout",
    "nicht",
    "niente",
    "nada",
];
