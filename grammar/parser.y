/*
 * parser.y — the .nn grammar: a pure, reentrant LALR(1) parser with
 * locations (jq's habits: api.pure, %locations, %parse-param instead of
 * globals, detailed errors, %expect 0). Actions stay thin: they only call
 * the ast_* constructors. Values live in the compilation's arena, so no
 * %destructor is needed for values dropped during error recovery.
 *
 * A file is a list of sections; every section body is a list of items
 * separated by newlines or ';'. What a setting means is decided in check.c,
 * what a model statement means in ir_build.c, so the grammar stays small.
 *
 *   section  = IDENT [IDENT] ["(" params ")"] "{" items "}"
 *   item     = IDENT "=" expr | "return" expr | "expect" expr CMP expr
 *            | IDENT "(" args ")" | IDENT value*
 *   value    = NUMBER | NUMBER "/" NUMBER | STRING | IDENT | IDENT "(" args ")" | IDENT "[" expr "]"
 *            | "[" args "]" | "{" key ":" expr, ... "}"
 */
%define api.pure full
%define api.location.type {SrcLoc}
%define parse.error detailed
%locations
%expect 0
%param {void *scanner}
%parse-param {ParseState *ps}

%code requires {
#include "nnc.h"

/* State the lexer keeps between tokens (yyextra). */
typedef struct LexState {
  Arena *arena;
  Diag *diag;
  char open[256]; /* the stack of open brackets: ( [ { */
  int depth;      /* entries in open (beyond 256 only counted) */
  int line, col;
} LexState;

/* What the parser actions build into. */
typedef struct ParseState {
  Arena *arena;
  Diag *diag;
  Ast *ast;
  SectionList sections;
  bool in_model; /* the section being parsed is a model */
  int layer_items; /* its items that make at least one layer each */
} ParseState;
}

%code provides {
int yylex(YYSTYPE *yylval, YYLTYPE *yylloc, void *scanner);
}

%code {
static void yyerror(YYLTYPE *loc, void *scanner, ParseState *ps, const char *msg);
static void parse_begin_section(ParseState *ps, const char *kind);
static bool parse_count_layer(ParseState *ps, const Item *it);
#define A (ps->arena)
}

%union {
  const char *str;
  Expr *expr;
  Arg *arg;
  ArgList args;
  Item *item;
  ItemList items;
  Param *param;
  ParamList params;
  Section *section;
}

%token <str> IDENT "identifier" NUMBER "number" STRING "string" CMP "comparison operator"
%token RETURN "return" EXPECT "expect" NEWLINE "end of line"

/* In a setting's value list, `a [1, 2]` could be a name then a list or an
 * index: an index it is (shift), like C's dangling else. */
%precedence BARE_NAME
%precedence '['

%type <expr> expr map list
%type <arg> args_opt arg map_entry values_opt
%type <args> args map_entries values dims
%type <item> items_opt item
%type <items> item_list
%type <param> params_opt param
%type <params> params
%type <section> section
%type <str> map_key section_kind

%%

file
  : nls_opt
  | nls_opt sections
  ;

sections
  : section nls_opt               { ps->sections = ast_section_append(ps->sections, $1); }
  | sections section nls_opt      { ps->sections = ast_section_append(ps->sections, $2); }
  ;

/* section = IDENT [IDENT] ["(" params ")"] "{" items "}" */
section
  : section_kind '{' nls_opt items_opt '}'
      { $$ = ast_section(A, @1, $1, NULL, @1, NULL, false, $4); }
  | section_kind IDENT '{' nls_opt items_opt '}'
      { $$ = ast_section(A, @1, $1, $2, @2, NULL, false, $5); }
  | section_kind IDENT '(' params_opt ')' '{' nls_opt items_opt '}'
      { $$ = ast_section(A, @1, $1, $2, @2, $4, true, $8); }
  ;

/* the section's keyword: its items are counted against the layer limit if a model */
section_kind
  : IDENT                         { $$ = $1; parse_begin_section(ps, $1); }
  ;

params_opt
  : %empty                        { $$ = NULL; }
  | params                        { $$ = $1.head; }
  ;

params
  : param                         { $$ = ast_param_append((ParamList){0}, $1); }
  | params ',' param              { $$ = ast_param_append($1, $3); }
  ;

/* param = IDENT ":" DTYPE "[" dims "]"      e.g.  x: u8[28, 28], x: f32[4] */
param
  : IDENT ':' IDENT '[' dims ']'  { $$ = ast_param(A, @1, $1, $3, @3, $5.head); }
  ;

dims
  : expr                          { $$ = ast_arg_append((ArgList){0}, ast_arg(A, @1, NULL, $1)); }
  | dims ',' expr                 { $$ = ast_arg_append($1, ast_arg(A, @3, NULL, $3)); }
  ;

items_opt
  : %empty                        { $$ = NULL; }
  | item_list terms_opt           { $$ = $1.head; }
  ;

/* a model over the layer limit stops here, at its first item over it, not
 * after the whole file has been read */
item_list
  : item                          { $$ = ast_item_append((ItemList){0}, $1);
                                    if (!parse_count_layer(ps, $1)) YYABORT; }
  | item_list terms item          { $$ = ast_item_append($1, $3);
                                    if (!parse_count_layer(ps, $3)) YYABORT; }
  ;

item
  : IDENT '=' expr                { $$ = ast_item(A, ITEM_ASSIGN, @1, $1, $3, NULL); }
  | RETURN expr                   { $$ = ast_item(A, ITEM_RETURN, @1, NULL, $2, NULL); }
  | EXPECT expr CMP expr
      { $$ = ast_item(A, ITEM_EXPECT, @1, NULL, ast_compare(A, @3, $3, $2, $4), NULL); }
  | IDENT '(' args_opt ')'
      { $$ = ast_item(A, ITEM_SETTING, @1, $1, ast_call(A, @1, $1, $3), NULL); }
  | IDENT values_opt              { $$ = ast_item(A, ITEM_SETTING, @1, $1, NULL, $2); }
  | error                         { $$ = NULL; }
  ;

values_opt
  : %empty                        { $$ = NULL; }
  | values                        { $$ = $1.head; }
  ;

values
  : expr                          { $$ = ast_arg_append((ArgList){0}, ast_arg(A, @1, NULL, $1)); }
  | values expr                   { $$ = ast_arg_append($1, ast_arg(A, @2, NULL, $2)); }
  ;

expr
  : NUMBER                        { $$ = ast_number(A, @1, $1); }
  | NUMBER '/' NUMBER             { $$ = ast_ratio(A, @$, $1, $3); }
  | STRING                        { $$ = ast_string(A, @1, $1); }
  | IDENT %prec BARE_NAME         { $$ = ast_ident(A, @1, $1); }
  | IDENT '(' args_opt ')'        { $$ = ast_call(A, @1, $1, $3); }
  | IDENT '[' expr ']'            { $$ = ast_index(A, @1, ast_ident(A, @1, $1), $3); }
  | list
  | map
  ;

args_opt
  : %empty                        { $$ = NULL; }
  | args                          { $$ = $1.head; }
  ;

args
  : arg                           { $$ = ast_arg_append((ArgList){0}, $1); }
  | args ',' arg                  { $$ = ast_arg_append($1, $3); }
  ;

arg
  : expr                          { $$ = ast_arg(A, @1, NULL, $1); }
  | IDENT '=' expr                { $$ = ast_arg(A, @1, $1, $3); }
  ;

list
  : '[' args_opt ']'              { $$ = ast_list(A, @1, $2); }
  ;

/* map = "{" key ":" expr, ... "}", newlines allowed between entries */
map
  : '{' nls_opt '}'               { $$ = ast_map(A, @1, NULL); }
  | '{' nls_opt map_entries nls_opt '}'     { $$ = ast_map(A, @1, $3.head); }
  | '{' nls_opt map_entries ',' nls_opt '}' { $$ = ast_map(A, @1, $3.head); }
  ;

map_entries
  : map_entry                     { $$ = ast_arg_append((ArgList){0}, $1); }
  | map_entries ',' nls_opt map_entry       { $$ = ast_arg_append($1, $4); }
  ;

map_entry
  : map_key ':' expr              { $$ = ast_arg(A, @1, $1, $3); }
  ;

map_key
  : IDENT
  | STRING                        { $$ = ast_string(A, @1, $1)->text; }
  | NUMBER
  ;

terms_opt
  : %empty
  | terms
  ;

terms
  : term
  | terms term
  ;

term
  : NEWLINE
  | ';'
  ;

nls_opt
  : %empty
  | nls_opt NEWLINE
  ;

%%

#include "lexer.h"

static void yyerror(YYLTYPE *loc, void *scanner, ParseState *ps, const char *msg) {
  (void)scanner;
  /* bison says "syntax error, unexpected X, expecting Y": keep it, drop the comma */
  const char *prefix = "syntax error, ";
  if (strncmp(msg, prefix, strlen(prefix)) == 0)
    diag_error(ps->diag, *loc, "syntax error: %s", msg + strlen(prefix));
  else
    diag_error(ps->diag, *loc, "%s", msg);
}

static void parse_begin_section(ParseState *ps, const char *kind) {
  ps->in_model = strcmp(kind, "model") == 0;
  ps->layer_items = 0;
}

/* In a model, `name = call(...)` and `return call(...)` make at least one
 * layer each (ir_build.c counts nested calls exactly), so more such items
 * than NNC_MAX_LAYERS is an error at the first item over the limit. */
static bool parse_count_layer(ParseState *ps, const Item *it) {
  if (!ps->in_model || !it || !it->value || it->value->kind != EX_CALL ||
      (it->kind != ITEM_ASSIGN && it->kind != ITEM_RETURN))
    return true;
  if (++ps->layer_items <= NNC_MAX_LAYERS)
    return true;
  diag_error(ps->diag, it->value->loc, "too many layers in one model (at most %d)",
             NNC_MAX_LAYERS);
  return false;
}

int parse_source(Ast *ast, const Source *src, Arena *arena, Diag *diag) {
  LexState lex = {.arena = arena, .diag = diag, .depth = 0, .line = 1, .col = 1};
  ParseState ps = {.arena = arena, .diag = diag, .ast = ast};
  yyscan_t scanner;
  if (yylex_init_extra(&lex, &scanner) != 0)
    NNC_BUG("cannot initialise the lexer");
  YY_BUFFER_STATE buf = yy_scan_bytes(src->text, (int)src->size, scanner);
  int before = diag->error_count;
  int rc = yyparse(scanner, &ps);
  yy_delete_buffer(buf, scanner);
  yylex_destroy(scanner);
  ast->sections = ps.sections.head;
  int errors = diag->error_count - before;
  if (rc != 0 && errors == 0) {
    diag_error(diag, (SrcLoc){lex.line, lex.col, lex.line, lex.col}, "cannot parse this file");
    errors = 1;
  }
  return errors;
}
