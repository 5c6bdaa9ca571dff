/* templates.c: the assistant's own fixed words, in English and French.
 * Kept apart so a reviewer can read every sentence the bot may say that
 * does not come from the knowledge base. None of them states a fact about
 * the company beyond its name. */
#include "dialog_int.h"

#include "templates_int.h"

#include <string.h>

typedef struct tmpl {
    const char *key, *en, *fr;
} tmpl;

static const tmpl table[] = {
    /* Nothing here names what a company sells: the same words serve a
     * dentist and a supplier (issue 14). The _anon forms when the KB's
     * tone.md gives no company name. */
    {"greeting", "Hello, I'm the %s assistant. What can I help you with?",
     "Bonjour, je suis l'assistant de %s. Que puis-je faire pour vous ?"},
    {"greeting_anon", "Hello, I'm the assistant here. What can I help you with?",
     "Bonjour, je suis l'assistant en ligne. Que puis-je faire pour vous ?"},
    {"goodbye_anon", "Thank you for getting in touch. Have a good day.",
     "Merci de nous avoir contactés. Bonne journée."},
    {"thanks", "You're welcome. Is there anything else I can help with?",
     "Avec plaisir. Puis-je vous aider pour autre chose ?"},
    {"goodbye", "Thank you for contacting %s. Have a good day.",
     "Merci d'avoir contacté %s. Bonne journée."},
    {"order_new",
     "Ordering in chat comes with the commerce module, which is not switched on yet, so I can't "
     "place the order for you here.",
     "La commande dans le chat arrive avec le module commerce, qui n'est pas encore activé : je ne "
     "peux pas passer la commande pour vous ici."},
    {"order_status",
     "I can't look up orders in chat yet (that comes with the commerce module). A member of our "
     "team can check it for you: just ask for a person.",
     "Je ne peux pas encore consulter les commandes dans le chat (cela arrive avec le module "
     "commerce). Un membre de notre équipe peut vérifier pour vous : demandez simplement une "
     "personne."},
    {"handoff",
     "I'm passing your message to a member of our team, who will get back to you "
     "shortly.",
     "Je transmets votre message à un membre de notre équipe, qui vous répondra rapidement."},
    {"offer_declined", "No problem. Is there anything else I can help with?",
     "Pas de souci. Puis-je vous aider pour autre chose ?"},
    {"human_silent", "Your message has been passed to %s, who is handling this conversation.",
     "Votre message a été transmis à %s, qui s'occupe de cette conversation."},
    /* Asked when a message says too little to search on; no example of
     * what the company sells, so it fits a dentist and a supplier alike. */
    {"clarify", "Could you tell me a little more about what you need?",
     "Pouvez-vous m'en dire un peu plus sur ce dont vous avez besoin ?"},
};

const char *dialog_template(const char *key, fd_lang lang)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].key, key) == 0)
            return lang == FD_LANG_FR ? table[i].fr : table[i].en;
    return NULL;
}
