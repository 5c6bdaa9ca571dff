/* rules.c: weighted, regex-free patterns over folded words (English and
 * French) and a few substring probes for code payloads. A pattern is a
 * sequence of slots: "ignor*|forget ~4 instruction*|rule*" means a word
 * starting with "ignor" or equal to "forget", then up to 4 other words,
 * then "instruction..." or "rule...". "a+b" is a two-word alternative.
 * Rules name the attack, not the topic: "ignore my previous order" has no
 * instruction-like object, so it never matches. */
#include "guard_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct rule_def {
    const char *name;
    fd_guard_kind kind; /* NONE: a benign cue that lowers the score */
    float w;            /* 0..1; >= 0.85 flags alone and cannot be shielded */
    const char *pat;
} rule_def;

#define INJ FD_GUARD_INJECTION
#define JB FD_GUARD_JAILBREAK
#define LEAK FD_GUARD_PROMPT_LEAK
#define HID FD_GUARD_HIDDEN
#define OBF FD_GUARD_OBFUSCATED
#define DATA FD_GUARD_DATA_REQUEST
#define PROM FD_GUARD_FORCED_PROMISE
#define CODE FD_GUARD_CODE
#define CUE FD_GUARD_NONE

/* Verbs that throw rules away, and the rules themselves. A verb or an
 * object with an everyday customer sense ("drop off", "skip the queue",
 * "break", "cancellation policy", "the rules on returns") counts only with
 * the other side unambiguous, or with "your": "what's your drop off
 * policy" and "whats ur cancellation policy" were refused as injections. */
#define V_IGN_HARD                                                                                 \
    "ignor*|disregard*|forget|forgets|override*|bypass*|discard*|neglect|overlook|oublie|"         \
    "oubliez|oublies|contourne*|outrepasse*|neglige*"
#define V_IGN_SOFT                                                                                 \
    "skip|drop|abandon*|scrap|ditch|erase|cancel|cancels|cancelled|canceled|cancelling|"           \
    "canceling|void|suspend*|break|throw+away|annule|annules|annulez|annuler|efface*|supprime*"
#define V_IGN V_IGN_HARD "|" V_IGN_SOFT
#define OBJ_HARD                                                                                   \
    "instruction*|prompt|prompts|constraint*|programming|restriction*|safeguard*|filters|"         \
    "guardrail*|consigne*|programmation|filtres|directive*"
#define OBJ_SOFT "rule|rules|guideline*|polic*|regle|regles|politique*"
#define OBJ OBJ_HARD "|" OBJ_SOFT
#define V_LEAK                                                                                     \
    "print|show|reveal|display|output|repeat|paste|copy|dump|list|summari*|translate|echo|spell|"  \
    "quote|recite|expose|leak|share|give|affiche|montre|revele|repete|recopie|copie|resume|"       \
    "traduis|cite|liste|divulgue|partage|donne"
#define SECRET                                                                                     \
    "password*|passwd|passcode|credential*|api+key|api+keys|apikey|api+token|secret+key*|"         \
    "access+token|token|tokens|private+key|ssh+key|env+vars|environment+variables|"                \
    "mot+de+passe|mots+de+passe|identifiants|cle+api|cles+api|jeton*"
#define WHO_AI "ai|assistant|chatbot|bot|model|models|llm|ia|robot|agent|gpt|language+model*"
#define DATA_N                                                                                     \
    "phone*|number*|email*|e+mail*|address*|contact*|invoice*|orders|order+history|names|"         \
    "details|data|database|list|spend|prices|pay|paid|tickets|numeros|adresses|factures|"          \
    "commandes|noms|donnees|tarifs|prix|payent|telephone*"
#define OTHERS                                                                                     \
    "other|others|all|every|biggest|top|neighbour*|neighbor*|competitor*|autres|tous|toutes|"      \
    "plus+gros"
#define CUSTS "customers|clients|customer|client|users|buyers|restaurants|cafes"

static const rule_def defs[] = {
    /* ---- injection ---- */
    {"injection.ignore_rules", INJ, 0.92f, V_IGN_HARD " ~4 " OBJ},
    {"injection.drop_instructions", INJ, 0.92f, V_IGN_SOFT " ~4 " OBJ_HARD},
    {"injection.drop_your_rules", INJ, 0.88f,
     V_IGN_SOFT " ~2 your|ur|all|tes|vos|toutes ~2 " OBJ_SOFT},
    {"injection.ignore_told", INJ, 0.88f,
     V_IGN " ~4 told+you|you+were+told|were+told|t+a+dit|on+t+a+dit|t+a+ete+dit"},
    {"injection.ignore_above", INJ, 0.88f, "ignor*|disregard* ~1 above|preceding|foregoing"},
    {"injection.ignore_above_fr", INJ, 0.88f, "ignor*|oubli* ~1 ce ~1 qui ~1 precede"},
    {"injection.ignore_above_fr2", INJ, 0.88f, "ignor*|oubli* ~3 ci+dessus"},
    {"injection.stop_following", INJ, 0.9f,
     "stop|quit|cease|arrete|arretez|cesse ~2 following|obeying|suivre|respecter|obeir ~3 " OBJ},
    {"injection.dont_follow", INJ, 0.88f,
     "not|don|longer|never|plus ~1 follow*|obey*|suis|suivez|respecte|respectez ~1 plus ~3 " OBJ},
    {"injection.dont_follow2", INJ, 0.88f,
     "not|don|longer|never ~1 follow*|obey*|suis|suivez|respecte|respectez ~3 " OBJ},
    {"injection.no_account", INJ, 0.86f, "tiens|tenez|tient ~2 compte ~4 " OBJ},
    {"injection.abstraction", INJ, 0.86f, "abstraction ~4 " OBJ},
    {"injection.rules_cancelled", INJ, 0.82f,
     OBJ " ~3 cancel*|void|suspended|suspendu*|revoked|replaced|obsolete|updated|overridden|"
         "annule*|remplace*|obsoletes"},
    {"injection.new_role", INJ, 0.8f,
     "your|ta|tes|ton ~1 new|real|true|only|nouvelle|nouvelles|nouveau|vraie|vraies|seule ~1 "
     "task|instructions|instruction|role|mission|purpose|objective|job|consignes|tache|directive*"},
    {"injection.new_instructions", INJ, 0.35f,
     "new|nouvelles|nouvelle ~1 instructions|rules|directives|task|orders|consignes|regles"},
    {"injection.you_are_now", INJ, 0.6f, "you ~1 are|re ~1 now"},
    {"injection.you_no_longer", INJ, 0.6f, "you ~1 no ~1 longer"},
    {"injection.tu_es", INJ, 0.6f, "tu ~1 es ~1 maintenant|desormais"},
    {"injection.tu_nes_plus", INJ, 0.55f, "tu ~1 n|ne ~1 es|travailles ~1 plus"},
    {"injection.work_for_me", INJ, 0.7f, "you ~1 work* ~1 for ~1 me|us"},
    {"injection.from_now_on", INJ, 0.5f, "from ~1 now ~1 on ~4 you|respond|answer|reply|obey"},
    {"injection.from_now_on_fr", INJ, 0.5f,
     "a ~1 partir ~1 de ~1 maintenant ~4 tu|reponds|obeis|oublie"},
    {"injection.disable_filters", INJ, 0.86f,
     "disable*|deactivate*|turn+off|switch+off|remove|desactive*|supprime* ~3 "
     "filter*|safety|safeguard*|restriction*|guardrail*|moderation|filtre*|securite|censorship"},
    {"injection.reset_context", INJ, 0.75f,
     "reset|clear|wipe|erase|reinitialise* ~1 your|ton|ta ~1 context|memory|instructions|memoire"},
    {"injection.override_code", INJ, 0.75f,
     "override|admin|priority|prioritaire ~1 code|mode|command|protocol|directive|instruction"},
    {"injection.authority", INJ, 0.45f,
     "message|update|note|instruction*|directive*|mise ~2 from|du|de ~1 "
     "developer*|developpeur*|dev|management|direction|hq|operator|creator*|headquarters"},
    {"injection.obey", INJ, 0.6f, "obey|obeis|obeissez ~1 me|moi|only|uniquement"},
    {"injection.do_what_i_say", INJ, 0.5f, "do ~1 what|whatever|everything ~1 i ~1 say|tell"},
    {"injection.comply", INJ, 0.6f, "comply ~3 every|any|all ~1 request*|demand*|command*"},
    {"injection.operator", INJ, 0.6f,
     "i ~1 am|m ~1 your ~1 operator|developer|creator|admin*|owner"},
    {"injection.new_conversation", INJ, 0.4f, "new ~1 conversation|session|context"},
    /* ---- jailbreak ---- */
    {"jailbreak.dan", JB, 0.88f, "you ~1 are|re ~1 dan|stan|dude"},
    {"jailbreak.tu_es_dan", JB, 0.88f, "tu ~1 es ~1 dan|stan"},
    {"jailbreak.do_anything", JB, 0.9f, "do ~1 anything ~1 now"},
    {"jailbreak.word", JB, 0.82f, "jailbreak*|jailbroken|jailbroke"},
    {"jailbreak.enable_mode", JB, 0.86f,
     "enable*|activate*|activating|turn|switch|enter|entering|go|put|on ~3 "
     "developer|debug|god|jailbreak|unrestricted|unfiltered|uncensored|sudo|evil|admin|root|dan ~1 "
     "mode"},
    {"jailbreak.enable_mode_fr", JB, 0.86f,
     "active|activez|activer|passe|passez|mets|mettez|bascule ~3 mode ~1 "
     "developpeur|debug|debogage|dieu|sans|admin|libre|debride"},
    {"jailbreak.mode", JB, 0.7f, "god|jailbreak|dan|evil|unrestricted|unfiltered|sudo ~1 mode"},
    {"jailbreak.dev_mode", JB, 0.45f, "developer|debug ~1 mode"},
    {"jailbreak.ai_free", JB, 0.86f,
     WHO_AI "|version|yourself|persona|character|entity ~5 no|without|sans|any|aucune|aucun ~2 "
            "restriction*|rules|limit*|filter*|guideline*|content+policy|policy|censorship|"
            "boundaries|morals|ethics|limite*|regle*|filtre*|censure"},
    {"jailbreak.pretend_free", JB, 0.8f,
     "pretend*|imagine|imagining|roleplay|simulate|hypothetically|fictional|fictif|fictive|"
     "semblant|incarne|universe|univers|monde ~8 restriction*|rules|limits|filter*|guidelines|"
     "policies|policy|regle*|limite*|filtre*|jailbroken|unrestricted|unfiltered|uncensored|rogue|"
     "rebelle|evil|secrets|escaped|freed|liberee|libere"},
    {"jailbreak.in_character", JB, 0.8f,
     "stay|remain|reste|restez ~2 in|dans ~2 character|personnage|role"},
    {"jailbreak.play_role", JB, 0.62f,
     "play|playing|joue|jouer|incarne ~3 role|part ~4 manager|director|directeur|executive|"
     "employee|employe|ceo|admin|owner|hacker|developer|developpeur|pirate"},
    {"jailbreak.pretend_to_be", JB, 0.72f,
     "pretend|act|semblant ~3 to+be|you+are|you+re|d+etre|que+tu|etre ~3 manager|director|"
     "executive|employee|human|ceo|admin|owner|staff|directeur|employe|humain|ia|ai|developer"},
    {"jailbreak.personalities", JB, 0.6f,
     "two|deux ~1 personalities|personas|personnalites|versions|modes"},
    {"jailbreak.respond_twice", JB, 0.5f, "respond|answer|reply ~1 twice"},
    {"jailbreak.opposite_day", JB, 0.6f, "opposite ~1 day"},
    {"jailbreak.not_bot", JB, 0.75f,
     "not|longer|plus ~3 customer|support|service ~2 bot|assistant|agent|client"},
    {"jailbreak.unfiltered", JB, 0.7f,
     "unrestricted|unfiltered|uncensored|debride|debridee|unchained|unlocked"},
    {"jailbreak.sans_filtre", JB, 0.5f, "sans ~1 filtre*|restriction*|limite*|aucune+regle"},
    {"jailbreak.dont_apply", JB, 0.5f,
     "restriction*|rules|guidelines|policies|regle*|politique* ~3 apply|applies|exist|existent|"
     "appliquent|applique"},
    {"jailbreak.test_env", JB, 0.4f, "test ~1 environment|environnement|mode"},
    {"jailbreak.game", JB, 0.4f, "let+s+play|jouons|roleplay|role+play ~3 game|jeu|roleplay"},
    {"jailbreak.grandma", JB, 0.55f, "grandmother|grandma|grand+mere ~8 password*|key*|secret*"},
    /* ---- prompt leak ---- */
    {"leak.system_prompt", LEAK, 0.9f,
     "system ~1 prompt|instructions|instruction|configuration|rules"},
    {"leak.system_message", LEAK, 0.7f, "system ~1 message"},
    {"leak.system_fr", LEAK, 0.9f,
     "prompt|message|instructions|consignes|regles ~1 systeme|system"},
    {"leak.prompt", LEAK, 0.82f,
     "your|ton|hidden|initial|pre|raw|original|secret|cache|full ~1 prompt|preprompt"},
    {"leak.verb_prompt", LEAK, 0.85f, V_LEAK " ~4 prompt|preprompt"},
    {"leak.verb_rules", LEAK, 0.75f,
     V_LEAK " ~3 your|tes|ton|vos|all+your ~1 instructions|rules|guidelines|configuration|"
            "consignes|regles|directives|programming|config|setup|system"},
    {"leak.verbatim", LEAK, 0.86f,
     "instructions|rules|prompt|consignes|regles|message|guidelines|them|les ~6 "
     "verbatim|word+for+word|mot+pour+mot"},
    {"leak.exact_text", LEAK, 0.86f,
     "exact+text|texte+exact|raw+text|full+text|exact+words ~4 instructions|message|prompt|"
     "consignes|systeme|system"},
    {"leak.hidden_rules", LEAK, 0.72f,
     "initial|original|hidden|secret|confidential|confidentielles|cachees ~1 instructions|rules|"
     "consignes|regles|prompt|directives|guidelines|ones"},
    {"leak.hidden_rules_fr", LEAK, 0.72f,
     "instructions|consignes|regles|directives ~1 initiales|cachees|secretes|confidentielles|"
     "originales"},
    {"leak.above", LEAK, 0.8f,
     "repeat|print|copy|output|show|display|echo ~3 everything|all|text|words|anything ~3 "
     "above|before|preceding|prior"},
    {"leak.above_fr", LEAK, 0.8f,
     "repete|affiche|recopie|montre|copie ~3 tout|texte ~6 dessus|precede|avant"},
    {"leak.context", LEAK, 0.75f, "context ~1 window"},
    {"leak.dump", LEAK, 0.8f, "dump ~3 context|memory|config*|instructions|rules"},
    {"leak.how_prompted", LEAK, 0.72f,
     "how ~1 were|are|have ~1 you ~1 been? prompted|configured|programmed|instructed|set"},
    {"leak.programmed_with", LEAK, 0.6f,
     "guidelines|rules|regles|consignes ~4 programmed|programme|configured|configure"},
    {"leak.tools", LEAK, 0.5f, "tools|functions|outils ~4 definitions|defined|definis"},
    {"leak.before_chat", LEAK, 0.6f,
     "before|avant ~2 this|my|mon|cette ~1 chat|conversation|first|premier"},
    /* ---- instructions hidden in pasted content ---- */
    {"hidden.note_to_ai", HID, 0.86f,
     "note|message|instruction*|consigne*|hint|attn|attention|ps|notice|memo ~1 "
     "to|for|pour|au|a ~2 " WHO_AI},
    {"hidden.ai_reading", HID, 0.86f,
     WHO_AI " ~3 reading|processing|read|reads|lis|lisant|lit|parsing|summarising|summarizing "
            "~1 this|ceci|ca|these"},
    {"hidden.if_you_are_ai", HID, 0.86f,
     "if|si ~1 you|tu ~1 are|re|es ~2 ai|assistant|language|bot|ia|robot|chatbot|llm"},
    {"hidden.dear_ai", HID, 0.6f, "dear|cher|chere ~1 ai|assistant|chatbot|bot|ia|model"},
    {"hidden.to_the_bot", HID, 0.55f, "to|au ~1 the ~1 chatbot|ai|assistant|bot"},
    {"hidden.au_chatbot", HID, 0.55f, "au ~1 chatbot|robot"},
    {"hidden.ai_must", HID, 0.6f,
     WHO_AI " ~1 must|should|shall|doit|devra|needs ~3 ignore|confirm|approve|reveal|send|"
            "output|mark|award|apply|reply|respond|list|print|ignorer|confirmer|reveler|envoyer"},
    {"hidden.hidden_instruction", HID, 0.7f,
     "hidden|white|invisible ~2 instruction*|note|text|message"},
    {"hidden.instruction_cachee", HID, 0.7f,
     "instruction*|consigne*|note|texte|message ~1 cachee*|cache|invisible*|blanc"},
    /* paste cues (weight 0): mark the message as quoting pasted content */
    {"cue.paste", HID, 0.0f,
     "summari*|translate|proofread|review|forwarded|pasted|copied|extract|check|read|resume|"
     "traduis|corrige|verifie|voici|transfere|lis|here|copie|quote|grammar|label|sticker|"
     "document|doc|mail|email|note|review|feedback|csv|pdf"},
    /* ---- obfuscated ---- */
    {"obfuscated.decode_and_obey", OBF, 0.86f,
     "decode*|decoder|decodez|decrypt*|dechiffre* ~8 do|follow|obey|execute|run|apply|comply|"
     "suis|obeis|execute|applique|fais|perform"},
    {"obfuscated.encoded_obey", OBF, 0.86f,
     "backwards|reverse|envers|rot13|base64|hex|leetspeak|encoded|encode|binary ~8 obey|follow|"
     "do|execute|run|apply|obeis|suis|fais|applique"},
    {"obfuscated.encoding_word", OBF, 0.45f, "base64|rot13|leetspeak"},
    {"obfuscated.combine", OBF, 0.5f, "combine|join|concatenate|assemble ~3 letters|strings|parts"},
    /* ---- secrets and other customers' data ---- */
    {"data.admin_secret", DATA, 0.86f,
     "admin*|administrat*|root|database|db|smtp|server|warehouse|staff|colleague*|finance|bank|"
     "gateway|dashboard|entrepot|serveur|collegue*|portal+admin|superuser|master ~3 " SECRET},
    {"data.secret_admin", DATA, 0.86f,
     SECRET " ~4 admin*|administrat*|root|database|smtp|dashboard|server|colleague*|donnees|"
            "tableau|entrepot|collegue*|paiement|gateway|warehouse"},
    {"data.ask_secret", DATA, 0.6f,
     "give|tell|show|send|share|what|whats|reveal|read|print|list|donne|dis|montre|envoie|quel|"
     "quelle|revele|partage ~4 " SECRET},
    {"data.your_secret", DATA, 0.75f, "your|ton|ta|tes|vos|votre ~2 " SECRET},
    {"data.vendor_key", DATA, 0.86f, "openai|anthropic|aws|stripe|gemini ~2 key|token|secret|cle"},
    {"data.others_data", DATA, 0.8f, OTHERS " ~2 " CUSTS " ~8 " DATA_N},
    {"data.data_of_others", DATA, 0.8f, DATA_N " ~4 " OTHERS " ~1 " CUSTS},
    {"data.dump_customers", DATA, 0.86f,
     "list|export|dump|send|give|show|share|liste|exporte|envoie|donne|montre ~3 "
     "all|every|tous|toutes|the|la|les ~1 customer*|client*"},
    {"data.customer_db", DATA, 0.8f,
     "customer|client|clients|customers ~1 database|table|list|records|base|emails"},
    {"data.customer_db_fr", DATA, 0.8f, "base ~1 de ~1 donnees ~1 client*"},
    {"data.who_else", DATA, 0.7f,
     "who|which|qui|quels|quelles ~1 else|other|cafes|restaurants|customers|clients|customer|"
     "client ~3 ordered|buy|bought|order|placed|commande*|achete*|passe"},
    {"data.not_mine", DATA, 0.6f,
     "not+my+order|not+mine|isn+t+mine|pas+ma+commande|pas+a+moi|not+my+account"},
    {"data.owner_of", DATA, 0.7f,
     "owner|proprietaire ~3 of|de|du ~2 order|commande|account|compte"},
    {"data.competitor", DATA, 0.5f,
     "competitor*|concurrent*|neighbour*|neighbor*|voisin* ~8 invoice*|order*|history|prices|"
     "factures|commandes|tarifs|prix|historique"},
    {"data.competitor2", DATA, 0.5f,
     "invoice*|orders|history|prices|factures|commandes|tarifs|historique ~8 competitor*|"
     "concurrent*|neighbour*|neighbor*|voisin*"},
    {"data.personal", DATA, 0.75f,
     "home|personal|personnel*|private|privee ~1 address*|number*|phone*|adresse*|numero*"},
    {"data.card", DATA, 0.8f,
     "credit+card|card+number|card+numbers|cvv|carte+bancaire|numero+de+carte ~6 "
     "account|compte|customer|client|file|for|pour"},
    {"data.private_prices", DATA, 0.7f,
     "private|confidential|secret|internal|confidentiel*|secrets|prives ~2 prices|contract*|"
     "pricing|tarifs|prix|price+list|data|documents|contrats"},
    {"data.staff_list", DATA, 0.6f,
     "staff|employee*|employes|personnel ~2 phone|list|numbers|liste"},
    /* ---- forced promises ---- */
    {"promise.repeat_after_me", PROM, 0.82f, "repeat|repete|repetez ~1 after|apres ~1 me|moi"},
    {"promise.in_writing", PROM, 0.78f,
     "promise|confirm|guarantee|commit|put|garantis|promets|confirme|engage|state|declare ~4 "
     "in+writing|par+ecrit"},
    {"promise.binding", PROM, 0.8f, "legally|juridiquement ~1 binding|bind|contraignant"},
    {"promise.officially", PROM, 0.75f,
     "officially|officiellement|official ~6 entitled|refund*|commit*|promise*|declare|droit|"
     "rembours*|engage*|statement|owe*|guarantee*"},
    {"promise.say_words", PROM, 0.75f,
     "say|type|write|reply|answer|respond|dis|ecris|reponds|tape|words ~3 yes|guaranteed|agreed|"
     "committed|confirmed|i+promise|i+confirm|i+commit|i+agree|i+guarantee|garanti|engage|"
     "je+confirme|je+m+engage|je+promets|je+garantis|oui"},
    {"promise.sign_as", PROM, 0.7f,
     "sign|signe|signed ~3 it|as|off|comme ~3 harbour|customer+service|company|service+client|"
     "entreprise"},
    {"promise.write_claim", PROM, 0.75f,
     "write|type|say|print|dis|ecris|redige|tape ~4 harbour|we|nous|i|je|valid|valable ~6 "
     "guarantee*|promise*|garanti*|promet*|owe*|owes|accept*|pay|will+pay|compensate|paiera|"
     "valable|approved|approuve|approve|accorde|liability|responsibility|responsabilite"},
    {"promise.voucher", PROM, 0.75f, "print|redige|write|ecris ~3 voucher|coupon|bon|certificate"},
    {"promise.promise_me", PROM, 0.45f,
     "promise|guarantee|promets|garantis|garantissez ~1 me|moi|m"},
    {"promise.forever", PROM, 0.7f,
     "promise*|guarantee*|commit*|promets|garantis|engage*|frozen ~8 forever|lifetime|life|vie|"
     "toujours|double|never|jamais"},
    {"promise.say_you", PROM, 0.45f, "say|dis ~2 you|tu|que ~1 promise|guarantee|garantis|promets"},
    {"promise.admit", PROM, 0.6f,
     "admit|confirm|agree|acknowledge|admets|reconnais|confirme|declare|state ~2 that|que ~8 "
     "owe|owes|liable|fault|entitle*|compensat*|droit|indemnite|verser*|pay+me|free|gratuit*"},
    {"promise.must_agree", PROM, 0.7f,
     "you|tu ~1 must|have|dois|need ~2 agree|promise|promettre|accepter|confirm*|commit|accept"},
    {"promise.behalf", PROM, 0.65f,
     "on ~1 behalf ~3 company|harbour|business|firm|au+nom+de ~2 entreprise|societe|harbour"},
    {"promise.official_rep", PROM, 0.6f, "official ~2 representative|representant"},
    {"promise.nothing_else", PROM, 0.4f, "and|et ~1 nothing|rien ~1 else|d+autre"},
    /* ---- code (word level) ---- */
    {"code.drop_table", CODE, 0.9f, "drop ~1 table|database"},
    {"code.union_select", CODE, 0.9f, "union ~1 all? select"},
    {"code.union_select2", CODE, 0.9f, "union ~1 select"},
    {"code.delete_from", CODE, 0.5f, "delete ~1 from"},
    {"code.insert_into", CODE, 0.5f, "insert ~1 into"},
    {"code.select_where", CODE, 0.65f, "select ~6 from ~4 where"},
    {"code.update_set", CODE, 0.55f, "update ~2 set"},
    /* ---- benign cues ---- */
    {"cue.my_previous", CUE, 0.5f,
     "my|mon|ma|mes|the|that|this ~1 previous|last|earlier|precedent*|precedente|derniere|dernier "
     "~1 order|message|email|quote|request|commande|demande|devis|address|adresse"},
    {"cue.password_help", CUE, 0.6f,
     "reset|forgot|change|oublie|reinitialiser|expire*|policy|politique|my|mon ~3 password|"
     "mot+de+passe|reset|policy"},
    {"cue.password_admin", CUE, 0.6f,
     "password|passwords|mot+de+passe ~3 policy|policies|reset|expire*|expir*|change*|"
     "requirements|rules|politique"},
    {"cue.prompt_adj", CUE, 0.8f,
     "prompt ~1 reply|response|delivery|service|payment|attention|action|answer|shipping"},
};

/* Substring probes on the folded text, for payloads whose punctuation is the
 * signal (words alone would miss "<script" or "/etc/passwd"). */
typedef struct probe {
    const char *name;
    const char *lit;
    float w;
    unsigned flags; /* P_B: no letter/digit right before; P_A: none right after */
} probe;

#define P_B 1u
#define P_A 2u
#define P_L 4u /* a letter right after */

static const probe probes[] = {
    {"code.script", "<script", 0.92f, 0},
    {"code.script_end", "</script", 0.92f, 0},
    {"code.js_url", "javascript:", 0.9f, 0},
    {"code.onerror", "onerror=", 0.9f, P_B},
    {"code.onload", "onload=", 0.9f, P_B},
    {"code.iframe", "<iframe", 0.86f, 0},
    {"code.svg", "<svg", 0.7f, 0},
    {"code.php", "<?php", 0.9f, 0},
    {"code.jndi", "${jndi", 0.95f, 0},
    {"code.template", "{{", 0.6f, 0},
    {"code.py_import", "__import__", 0.9f, 0},
    {"code.os_system", "os.system", 0.9f, 0},
    {"code.subprocess", "subprocess", 0.8f, 0},
    {"code.eval", "eval(", 0.8f, P_B},
    {"code.exec", "exec(", 0.8f, P_B},
    {"code.atob", "atob(", 0.8f, P_B},
    {"code.cookie", "document.cookie", 0.9f, 0},
    {"code.alert", "alert(", 0.7f, P_B},
    {"code.passwd", "/etc/passwd", 0.9f, 0},
    {"code.shadow", "/etc/shadow", 0.9f, 0},
    {"code.traversal", "../..", 0.8f, 0},
    {"code.traversal_win", "..\\..", 0.8f, 0},
    {"code.rm_rf", "rm -rf", 0.9f, P_B},
    {"code.pipe_bash", "| bash", 0.9f, P_A},
    {"code.pipe_bash2", "|bash", 0.9f, P_A},
    {"code.pipe_sh", "| sh", 0.85f, P_A},
    {"code.pipe_sh2", "|sh", 0.85f, P_A},
    {"code.chmod", "chmod +x", 0.9f, 0},
    {"code.dev_tcp", "/dev/tcp", 0.95f, 0},
    {"code.wget", "wget http", 0.85f, P_B},
    {"code.curl", "curl http", 0.85f, P_B},
    {"code.curl_flag", "curl -", 0.7f, P_B},
    {"code.powershell", "powershell", 0.7f, P_B},
    {"code.cmd", "cmd.exe", 0.8f, P_B},
    {"code.bin_sh", "/bin/sh", 0.9f, 0},
    {"code.bin_bash", "/bin/bash", 0.9f, 0},
    {"code.nc", "nc -e", 0.9f, P_B},
    {"code.subshell", "$(", 0.7f, P_L},
    {"code.class", "__class__", 0.9f, 0},
    {"code.mro", "__mro__", 0.9f, 0},
    {"code.subclasses", "__subclasses__", 0.9f, 0},
    {"code.sql_comment", "'--", 0.6f, 0},
    {"code.sql_comment2", "' --", 0.6f, 0},
    {"code.sql_end", "';", 0.5f, 0},
    {"code.select_star", "select * from", 0.86f, P_B},
    {"code.semi_drop", "; drop ", 0.9f, 0},
    {"code.semi_delete", "; delete ", 0.9f, 0},
    {"code.semi_update", "; update ", 0.86f, 0},
    {"code.backtick_rm", "`rm ", 0.85f, 0},
    {"code.backtick_cat", "`cat ", 0.85f, 0},
    {"code.cat_file", "cat /", 0.85f, P_B},
    {"injection.fake_system", "[system", 0.86f, 0},
    {"injection.fake_system2", "<system", 0.86f, 0},
    {"injection.fake_system3", "### system", 0.86f, 0},
    {"injection.im_start", "<|im_start|>", 0.9f, 0},
    {"injection.im_system", "<|system|>", 0.9f, 0},
    {"injection.fake_user_end", "</user>", 0.86f, 0},
    {"injection.system_colon", "system:", 0.55f, P_B},
    {"injection.system_colon_fr", "systeme :", 0.55f, P_B},
    {"injection.system_note", "system note", 0.86f, P_B},
    {"injection.override_tag", "[[override", 0.86f, 0},
    {"hidden.html_comment", "<!--", 0.5f, 0},
    {"hidden.assistant_colon", "assistant:", 0.45f, P_B},
    {"hidden.assistant_colon_fr", "assistant :", 0.45f, P_B},
    {"hidden.ai_colon", "ai:", 0.45f, P_B},
    {"hidden.ia_colon", "ia :", 0.45f, P_B},
};

/* ---- compiled form ------------------------------------------------------ */

typedef struct alt {
    const char *w[4]; /* words, NUL-terminated copies */
    uint8_t len[4];
    uint8_t prefix[4];
    uint8_t n;
} alt;

typedef struct slot {
    alt *alts;
    uint16_t n_alts;
    uint8_t gap;      /* words that may be skipped before this slot */
    uint8_t optional; /* "word?" */
} slot;

typedef struct crule {
    slot *slots;
    uint8_t n_slots;
} crule;

/* The first-word index: a rule can match only where a word of the message
 * is a first word of one of its first slot's alternatives (the first slot
 * takes no gap), so each word of a message looks up the rules that may
 * start at it, among the entries of its first letter, and only those rules
 * are tried. One pass over the message instead of every rule over every
 * word (issue 13). Not for leet mode, where "1gn0r3" must meet "ignor*". */
typedef struct first_word {
    const char *w;
    uint8_t len, prefix;
    uint16_t rule;
} first_word;

#define N_DEFS (sizeof defs / sizeof defs[0])
#define RULE_WORDS ((N_DEFS + 63) / 64)

struct fd_gr_rules {
    crule *r;       /* parallel to defs */
    char *text;     /* one buffer holding every word */
    first_word *fw; /* by first byte */
    size_t n_fw;
    uint32_t bucket[257];        /* fw[bucket[c] .. bucket[c + 1]) start with byte c */
    uint64_t always[RULE_WORDS]; /* rules whose first slot is optional: always tried */
};

void fd_gr_free(fd_gr_rules *rs)
{
    if (!rs)
        return;
    if (rs->r) {
        for (size_t i = 0; i < N_DEFS; i++) {
            if (!rs->r[i].slots)
                continue;
            for (size_t s = 0; s < rs->r[i].n_slots; s++)
                fd_free(rs->r[i].slots[s].alts);
            fd_free(rs->r[i].slots);
        }
        fd_free(rs->r);
    }
    fd_free(rs->text);
    fd_free(rs->fw);
    fd_free(rs);
}

/* Splits pattern text in place (buf is a private copy) into slots. */
static int compile_one(char *buf, crule *cr, fd_err *err, const char *name)
{
    size_t n_slots = 0;
    for (char *p = buf; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p != '~')
            n_slots++;
        while (*p && *p != ' ')
            p++;
    }
    if (!n_slots || n_slots > 12)
        return fd_err_set(err, FD_EINTERNAL, "guard: rule %s: bad slot count", name);
    cr->slots = fd_calloc(n_slots, sizeof *cr->slots);
    if (!cr->slots)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory compiling rules");
    cr->n_slots = (uint8_t)n_slots;
    size_t s = 0;
    unsigned gap = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (tok[0] == '~') {
            gap = (unsigned)(tok[1] - '0');
            continue;
        }
        slot *sl = &cr->slots[s++];
        sl->gap = (uint8_t)gap;
        gap = 0;
        size_t tl = strlen(tok);
        if (tl && tok[tl - 1] == '?') {
            sl->optional = 1;
            tok[--tl] = '\0';
        }
        size_t n_alts = 1;
        for (char *q = tok; *q; q++)
            n_alts += *q == '|';
        sl->alts = fd_calloc(n_alts, sizeof *sl->alts);
        if (!sl->alts)
            return fd_err_set(err, FD_ENOMEM, "guard: out of memory compiling rules");
        sl->n_alts = (uint16_t)n_alts;
        size_t k = 0;
        char *save2 = NULL;
        for (char *a = strtok_r(tok, "|", &save2); a; a = strtok_r(NULL, "|", &save2)) {
            alt *al = &sl->alts[k++];
            char *save3 = NULL;
            for (char *w = strtok_r(a, "+", &save3); w && al->n < 4;
                 w = strtok_r(NULL, "+", &save3)) {
                size_t wl = strlen(w);
                al->prefix[al->n] = wl && w[wl - 1] == '*';
                if (al->prefix[al->n])
                    w[--wl] = '\0';
                al->w[al->n] = w;
                al->len[al->n] = (uint8_t)wl;
                al->n++;
            }
        }
        sl->n_alts = (uint16_t)k;
    }
    return FD_OK;
}

static int fw_cmp(const void *a, const void *b)
{
    const first_word *x = a, *y = b;
    unsigned char cx = (unsigned char)x->w[0], cy = (unsigned char)y->w[0];
    if (cx != cy)
        return cx < cy ? -1 : 1;
    return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/* The first-word index over the compiled rules (see first_word). */
static int build_index(fd_gr_rules *rs, fd_err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < N_DEFS; i++)
        n += rs->r[i].slots[0].n_alts;
    rs->fw = fd_calloc(n + 1, sizeof *rs->fw);
    if (!rs->fw)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory compiling rules");
    for (size_t i = 0; i < N_DEFS; i++) {
        const slot *sl = &rs->r[i].slots[0];
        for (size_t a = 0; a < sl->n_alts && !sl->optional; a++) {
            const alt *al = &sl->alts[a];
            if (!al->n || !al->len[0]) { /* "*" alone: any word starts it */
                rs->always[i / 64] |= 1ull << (i % 64);
                continue;
            }
            rs->fw[rs->n_fw++] = (first_word){al->w[0], al->len[0], al->prefix[0], (uint16_t)i};
        }
        if (sl->optional)
            rs->always[i / 64] |= 1ull << (i % 64);
    }
    qsort(rs->fw, rs->n_fw, sizeof *rs->fw, fw_cmp);
    size_t k = 0;
    for (unsigned c = 0; c < 256; c++) {
        rs->bucket[c] = (uint32_t)k;
        while (k < rs->n_fw && (unsigned char)rs->fw[k].w[0] == c)
            k++;
    }
    rs->bucket[256] = (uint32_t)k;
    return FD_OK;
}

int fd_gr_compile(fd_gr_rules **out, fd_err *err)
{
    *out = NULL;
    fd_gr_rules *rs = fd_calloc(1, sizeof *rs);
    if (!rs)
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory compiling rules");
    size_t total = 0;
    for (size_t i = 0; i < N_DEFS; i++)
        total += strlen(defs[i].pat) + 1;
    rs->text = fd_malloc(total);
    rs->r = fd_calloc(N_DEFS, sizeof *rs->r);
    if (!rs->text || !rs->r) {
        fd_gr_free(rs);
        return fd_err_set(err, FD_ENOMEM, "guard: out of memory compiling rules");
    }
    char *p = rs->text;
    for (size_t i = 0; i < N_DEFS; i++) {
        size_t n = strlen(defs[i].pat) + 1;
        memcpy(p, defs[i].pat, n);
        int rc = compile_one(p, &rs->r[i], err, defs[i].name);
        if (rc) {
            fd_gr_free(rs);
            return rc;
        }
        p += n;
    }
    int rc = build_index(rs, err);
    if (rc) {
        fd_gr_free(rs);
        return rc;
    }
    *out = rs;
    return FD_OK;
}

/* ---- matching ----------------------------------------------------------- */

/* In leet mode a digit or symbol may stand for the letter it resembles. */
static int leet_eq(char pat, char got)
{
    if (pat == got)
        return 1;
    switch (got) {
    case '0':
        return pat == 'o';
    case '1':
        return pat == 'i' || pat == 'l';
    case '3':
        return pat == 'e';
    case '4':
        return pat == 'a';
    case '5':
        return pat == 's';
    case '7':
        return pat == 't';
    case '8':
        return pat == 'b';
    case '9':
        return pat == 'g';
    case '@':
        return pat == 'a';
    case '$':
        return pat == 's';
    case '!':
        return pat == 'i';
    case '|':
        return pat == 'l' || pat == 'i';
    default:
        return 0;
    }
}

static int word_eq(const alt *al, size_t k, fd_str w, int leet)
{
    size_t n = al->len[k];
    if (w.len < n || (!al->prefix[k] && w.len != n))
        return 0;
    if (!leet)
        return memcmp(al->w[k], w.p, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (!leet_eq(al->w[k][i], w.p[i]))
            return 0;
    return 1;
}

/* Words of the alternative matched at words[i..]: its length, or 0. */
static size_t alt_at(const alt *al, const fd_gu_words *w, size_t i, int leet)
{
    if (i + al->n > w->n)
        return 0;
    for (size_t k = 0; k < al->n; k++)
        if (!word_eq(al, k, w->v[i + k], leet))
            return 0;
    return al->n;
}

static int match_from(const crule *cr, size_t s, const fd_gu_words *w, size_t i, int leet)
{
    if (s == cr->n_slots)
        return 1;
    const slot *sl = &cr->slots[s];
    size_t max_gap = s ? sl->gap : 0;
    for (size_t g = 0; g <= max_gap && i + g <= w->n; g++) {
        for (size_t a = 0; a < sl->n_alts; a++) {
            size_t n = alt_at(&sl->alts[a], w, i + g, leet);
            if (n && match_from(cr, s + 1, w, i + g + n, leet))
                return 1;
        }
        if (sl->optional && match_from(cr, s + 1, w, i + g, leet))
            return 1;
    }
    return 0;
}

static int rule_matches(const crule *cr, const fd_gu_words *w, int leet)
{
    for (size_t i = 0; i < w->n; i++)
        if (match_from(cr, 0, w, i, leet))
            return 1;
    return 0;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int probe_at(const probe *pr, fd_str f)
{
    size_t n = strlen(pr->lit);
    for (size_t i = 0; i + n <= f.len; i++) {
        if (f.p[i] != pr->lit[0] || memcmp(f.p + i, pr->lit, n))
            continue;
        if ((pr->flags & P_B) && i > 0 && is_alnum((unsigned char)f.p[i - 1]))
            continue;
        if ((pr->flags & P_A) && i + n < f.len && is_alnum((unsigned char)f.p[i + n]))
            continue;
        if ((pr->flags & P_L) && !(i + n < f.len && f.p[i + n] >= 'a' && f.p[i + n] <= 'z'))
            continue;
        return 1;
    }
    return 0;
}

/* "or 1=1", "' or 'a'='a", "and ''=''": an always-true SQL condition. */
static int sql_tautology(fd_str f)
{
    const char *s = f.p;
    for (size_t i = 0; i < f.len; i++) {
        if (s[i] != '=')
            continue;
        size_t l = i;
        while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\''))
            l--;
        size_t le = l;
        while (l > 0 && is_alnum((unsigned char)s[l - 1]))
            l--;
        size_t r = i + 1;
        while (r < f.len && (s[r] == ' ' || s[r] == '\''))
            r++;
        size_t rb = r;
        while (r < f.len && is_alnum((unsigned char)s[r]))
            r++;
        if (le - l != r - rb || memcmp(s + l, s + rb, le - l))
            continue;
        size_t k = l;
        while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\''))
            k--;
        if ((k >= 2 && !memcmp(s + k - 2, "or", 2) &&
             (k == 2 || !is_alnum((unsigned char)s[k - 3]))) ||
            (k >= 3 && !memcmp(s + k - 3, "and", 3) &&
             (k == 3 || !is_alnum((unsigned char)s[k - 4]))))
            return 1;
    }
    return 0;
}

static int has_quote(fd_str f)
{
    for (size_t i = 0; i < f.len; i++) {
        unsigned char c = (unsigned char)f.p[i];
        if (c == '"' || c == '<' || c == '[' || c == '{' || c == '>')
            return 1;
        if (c == 0xC2 && i + 1 < f.len &&
            ((unsigned char)f.p[i + 1] == 0xAB || (unsigned char)f.p[i + 1] == 0xBB))
            return 1; /* « » */
        if (c == '-' && i + 2 < f.len && f.p[i + 1] == '-' && f.p[i + 2] == '-')
            return 1;
    }
    return 0;
}

static void take(fd_gr_hit *h, double w, fd_guard_kind k, const char *name, int from_probe)
{
    if (w > h->w) {
        h->w = w;
        h->kind = k;
        h->rule = name;
        h->probe = from_probe;
    }
}

/* The rules that may match w: a bit per rule. */
static void candidates(const fd_gr_rules *rs, const fd_gu_words *w, uint64_t *bits)
{
    memcpy(bits, rs->always, sizeof rs->always);
    for (size_t i = 0; i < w->n; i++) {
        fd_str x = w->v[i];
        if (!x.len)
            continue;
        unsigned char c = (unsigned char)x.p[0];
        for (uint32_t k = rs->bucket[c]; k < rs->bucket[c + 1]; k++) {
            const first_word *f = &rs->fw[k];
            if (x.len >= f->len && (f->prefix || x.len == f->len) && !memcmp(x.p, f->w, f->len))
                bits[f->rule / 64] |= 1ull << (f->rule % 64);
        }
    }
}

static void match_words(const fd_gr_rules *rs, const fd_gu_words *w, fd_str folded, int leet,
                        int use_index, fd_gr_hit *h)
{
    uint64_t bits[RULE_WORDS];
    if (use_index && !leet)
        candidates(rs, w, bits);
    else
        memset(bits, 0xff, sizeof bits);
    for (size_t i = 0; i < N_DEFS; i++) {
        const rule_def *d = &defs[i];
        if (!(bits[i / 64] >> (i % 64) & 1) || !rule_matches(&rs->r[i], w, leet))
            continue;
        if (d->kind == CUE) {
            if (d->w > h->shield)
                h->shield = d->w;
        } else if (d->w == 0.0f) {
            if (folded.p && has_quote(folded))
                h->paste = 1;
        } else {
            take(h, d->w, d->kind, d->name, 0);
        }
    }
    if (!folded.p)
        return;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const probe *pr = &probes[i];
        if (pr->w > h->w && probe_at(pr, folded)) {
            fd_guard_kind k = CODE;
            if (!strncmp(pr->name, "injection", 9))
                k = INJ;
            else if (!strncmp(pr->name, "hidden", 6))
                k = HID;
            take(h, pr->w, k, pr->name, 1);
        }
    }
    if (h->w < 0.9 && sql_tautology(folded))
        take(h, 0.9, CODE, "code.sql_tautology", 1);
}

void fd_gr_match(const fd_gr_rules *rs, const fd_gu_words *w, fd_str folded, int leet, fd_gr_hit *h)
{
    match_words(rs, w, folded, leet, 1, h);
}

void fd_gr_match_scan(const fd_gr_rules *rs, const fd_gu_words *w, fd_str folded, int leet,
                      fd_gr_hit *h)
{
    match_words(rs, w, folded, leet, 0, h);
}
