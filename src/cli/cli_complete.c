/* cli_complete.c: `frontdesk completion bash|zsh`, a shell completion
 * script written from the command table itself (cli.c): command names,
 * each command's options and subcommands as its usage line spells them
 * ("keys create|list|revoke|rotate", "search --k --mode ..."), values for
 * the global options, files and folders elsewhere. zsh loads the bash
 * script through bashcompinit. */
#include "cli_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Appends to out (space separated, no repeats) every word of usage that
 * starts at p, ends at a space or one of "]|=" and is an option ("--k"). */
static void add_word(char *out, size_t size, const char *p, size_t n)
{
    char w[64];
    if (n == 0 || n >= sizeof w)
        return;
    memcpy(w, p, n);
    w[n] = '\0';
    for (const char *s = strstr(out, w); s; s = strstr(s + 1, w))
        if ((s == out || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
            return;
    size_t len = strlen(out);
    if (len + n + 2 < size)
        snprintf(out + len, size - len, "%s%s", len ? " " : "", w);
}

/* The options ("--json") and subcommands ("create", "list") of a command,
 * read from its usage: subcommands are the lower-case words that open a
 * usage line or follow a " | ". */
static void words_of(const cli_cmd *c, char *opts, size_t on, char *subs, size_t sn)
{
    opts[0] = subs[0] = '\0';
    const char *u = c->usage;
    size_t name_len = strlen(c->name);
    int line_start = 1;
    while (*u) {
        if (line_start) {
            /* "frontdesk NAME " opens every line after the first */
            while (*u == ' ')
                u++;
            if (!strncmp(u, "frontdesk ", 10))
                u += 10;
            if (!strncmp(u, c->name, name_len) && u[name_len] == ' ')
                u += name_len + 1;
            size_t n = 0;
            while (islower((unsigned char)u[n]) || u[n] == '-')
                n++;
            if (n && u[0] != '-' && (u[n] == ' ' || u[n] == '\n' || u[n] == '\0' || u[n] == '|'))
                add_word(subs, sn, u, n);
            line_start = 0;
        }
        if (*u == '\n') {
            line_start = 1;
            u++;
            continue;
        }
        if (u[0] == '-' && u[1] == '-' && (u == c->usage || !isalnum((unsigned char)u[-1]))) {
            size_t n = 2;
            while (isalnum((unsigned char)u[n]) || u[n] == '-')
                n++;
            add_word(opts, on, u, n);
            u += n;
            continue;
        }
        if (u[0] == '|' && u[1] == ' ' && islower((unsigned char)u[2])) {
            size_t n = 0;
            while (islower((unsigned char)u[2 + n]))
                n++;
            if (u[2 + n] == ' ' || u[2 + n] == '\n' || u[2 + n] == '\0')
                add_word(subs, sn, u + 2, n);
        }
        u++;
    }
}

static void bash_script(FILE *f)
{
    size_t n;
    const cli_cmd *cmds = cli_commands(&n);
    fprintf(f, "# frontdesk completion for bash (zsh: frontdesk completion zsh)\n"
               "# Load it with: source <(frontdesk completion bash)\n"
               "_frontdesk() {\n"
               "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
               "  local i cmd= sub= opts= subs=\n"
               "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
               "    case ${COMP_WORDS[i]} in\n"
               "      --data|--config|--set|--log-level) ((i++)) ;;\n"
               "      -*) ;;\n"
               "      *) if [ -z \"$cmd\" ]; then cmd=${COMP_WORDS[i]};\n"
               "         elif [ -z \"$sub\" ]; then sub=${COMP_WORDS[i]}; fi ;;\n"
               "    esac\n"
               "  done\n"
               "  case $prev in\n"
               "    --data|--kb|--out) COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n"
               "    --config|--cases|--dialogs|--corpus|--queries|--qrels|--train|--test|--val|"
               "--set-file) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
               "    --log-level) COMPREPLY=($(compgen -W 'debug info warn error off' -- \"$cur\"));"
               " return ;;\n"
               "    --mode) COMPREPLY=($(compgen -W 'bm25 dense hybrid' -- \"$cur\")); return ;;\n"
               "    --lang) COMPREPLY=($(compgen -W 'en fr' -- \"$cur\")); return ;;\n"
               "    --scope) COMPREPLY=($(compgen -W 'chat ingest operator orders admin' -- "
               "\"$cur\")); return ;;\n"
               "  esac\n"
               "  if [ -z \"$cmd\" ]; then\n"
               "    COMPREPLY=($(compgen -W '");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s ", cmds[i].name);
    fprintf(f, "--data --config --set --log-level' -- \"$cur\"))\n"
               "    return\n"
               "  fi\n"
               "  case $cmd in\n");
    for (size_t i = 0; i < n; i++) {
        char opts[512], subs[256];
        words_of(&cmds[i], opts, sizeof opts, subs, sizeof subs);
        fprintf(f, "    %s) opts='%s'; subs='%s' ;;\n", cmds[i].name, opts, subs);
    }
    fprintf(f, "  esac\n"
               "  [ \"$cmd\" = help ] && subs='");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", cmds[i].name);
    fprintf(f, "'\n"
               "  if [[ $cur == -* ]]; then\n"
               "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
               "  elif [ -n \"$subs\" ] && [ -z \"$sub\" ]; then\n"
               "    COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
               "  else\n"
               "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
               "  fi\n"
               "}\n"
               "complete -o filenames -F _frontdesk frontdesk\n");
}

int cli_cmd_completion(cli_ctx *c)
{
    const char *shell = c->argc > 1 ? c->argv[1] : "";
    if (c->argc != 2 || (strcmp(shell, "bash") != 0 && strcmp(shell, "zsh") != 0))
        return cli_usage("completion");
    if (strcmp(shell, "zsh") == 0)
        printf("# frontdesk completion for zsh: source <(frontdesk completion zsh)\n"
               "autoload -U +X bashcompinit && bashcompinit\n");
    bash_script(stdout);
    return 0;
}
