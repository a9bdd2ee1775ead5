/*
 * pgpolicy_planner: pgpolicy's plan-time functions in C. Optional: `pgpolicy planner on`
 * puts them in place of the SQL ones (sql/planned_c.sql), `pgpolicy planner off` puts the
 * SQL ones back (sql/planned_sql.sql). Policies call the same functions either way.
 *
 * Policies call IMMUTABLE plan-time functions (pgpolicy.planned_*, sql/runtime.sql) that
 * the planner folds into constants: the context as of planning. In SQL, every call site
 * runs a PL/pgSQL body again, and set_context()'s DISCARD PLANS makes those bodies plan
 * their own queries again in every transaction. Here, with the same values:
 *
 *   - uid, su, the context key, shadow mode, the system principal and "is this an UPDATE
 *     or INSERT" are computed from the settings and the statement text as the SQL readers
 *     compute them (uid(), su(), context_key(), ...; tests/test_planner.py compares both
 *     on valid and malformed contexts);
 *   - the readers that query tables (company_ids(), company_id(), group_ids()) are called
 *     once per top-level statement being planned, and their values reused by every call
 *     site of that statement. The memo lives in this backend's memory, which no SQL role
 *     can write, and is emptied when the next top-level statement is planned;
 *   - a plan into which a value was folded carries an invalidation item, and
 *     pgpolicy.forget_context_plans() (called by set_context() and set_profiles())
 *     invalidates exactly those plans, in this backend only, where DISCARD PLANS drops
 *     every cached plan of the session, the readers' own among them.
 *
 * The context gate of every protected table is unchanged: a plan kept past a context
 * changed without set_context() returns no rows, as with the SQL functions.
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/plannodes.h"
#include "nodes/value.h"
#include "optimizer/planner.h"
#include "parser/parse_func.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#define MEMO_SIZE 16

typedef struct MemoEntry
{
	Oid			reader;
	bool		isnull;
	Datum		value;
} MemoEntry;

static planner_hook_type prev_planner_hook = NULL;

/* Nesting of planner() calls: the memo is used only while it is above zero. */
static int	planning_depth = 0;

/* Whether a plan-time value was folded into the plan being made at this depth. */
static bool folded = false;

/* The memo of the top-level statement being planned. */
static MemoryContext memo_context = NULL;
static MemoEntry memo[MEMO_SIZE];
static int	memo_used = 0;

/*
 * The invalidation item of plans with folded values: a pg_proc hash value (InvalidOid's)
 * that no catalog change of a real function sends.
 */
static uint32
folded_hash(void)
{
	uint32		hash = GetSysCacheHashValue1(PROCOID, ObjectIdGetDatum(InvalidOid));

	return hash == 0 ? 1 : hash;
}

static PlannedStmt *
pgpolicy_planner(Query *parse, const char *query_string, int cursorOptions,
				 ParamListInfo boundParams)
{
	bool		outer_folded = folded;
	PlannedStmt *result;

	if (planning_depth == 0)
	{
		MemoryContextReset(memo_context);
		memo_used = 0;
	}
	folded = false;
	planning_depth++;
	PG_TRY();
	{
		if (prev_planner_hook)
			result = prev_planner_hook(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_CATCH();
	{
		planning_depth--;
		folded = outer_folded;
		PG_RE_THROW();
	}
	PG_END_TRY();
	planning_depth--;
	if (folded)
	{
		PlanInvalItem *item = makeNode(PlanInvalItem);

		item->cacheId = PROCOID;
		item->hashValue = folded_hash();
		result->invalItems = lappend(result->invalItems, item);
	}
	/* A value folded into a nested plan (a reader's query) may have reached this one. */
	folded = outer_folded || folded;
	return result;
}

void
_PG_init(void)
{
	memo_context = AllocSetContextCreate(TopMemoryContext, "pgpolicy_planner memo",
										 ALLOCSET_SMALL_SIZES);
	prev_planner_hook = planner_hook;
	planner_hook = pgpolicy_planner;
}

/* A value is being folded into the plan being made (if one is being made). */
static void
note_folded(void)
{
	if (planning_depth > 0)
		folded = true;
}

/* ---------------------------------------------------------------------------------------
 * The context from the settings, as sql/runtime.sql's uid(), su() and context_key() read
 * it. A missing setting and an empty one both fail the checks below.
 */

static const char *
setting(const char *name)
{
	return GetConfigOption(name, true, false);
}

/* One id as set_context writes it: [1-9][0-9]{0,8}, the whole text up to `end`. */
static bool
is_id(const char *start, const char *end)
{
	const char *c;

	if (end - start < 1 || end - start > 9 || *start < '1' || *start > '9')
		return false;
	for (c = start + 1; c < end; c++)
		if (*c < '0' || *c > '9')
			return false;
	return true;
}

/* Ids separated by commas: [1-9][0-9]{0,8}(,[1-9][0-9]{0,8})* */
static bool
is_id_list(const char *text)
{
	const char *start = text;
	const char *comma;

	while ((comma = strchr(start, ',')) != NULL)
	{
		if (!is_id(start, comma))
			return false;
		start = comma + 1;
	}
	return is_id(start, start + strlen(start));
}

/* uid(): the uid when the three settings are all in set_context's form, else 0 (NULL). */
static int32
context_uid(void)
{
	const char *uid = setting("pgpolicy.uid");
	const char *companies = setting("pgpolicy.company_ids");
	const char *su = setting("pgpolicy.su");

	if (uid == NULL || companies == NULL || su == NULL)
		return 0;
	if (!is_id(uid, uid + strlen(uid)))
		return 0;
	if (strcmp(companies, "default") != 0 && !is_id_list(companies))
		return 0;
	if (strcmp(su, "true") != 0 && strcmp(su, "false") != 0)
		return 0;
	return (int32) strtol(uid, NULL, 10);
}

static bool
setting_is_true(const char *name)
{
	const char *value = setting(name);

	return value != NULL && strcmp(value, "true") == 0;
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_uid);
Datum
pgpolicy_planned_uid(PG_FUNCTION_ARGS)
{
	int32		uid = context_uid();

	note_folded();
	if (uid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(uid);
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_su);
Datum
pgpolicy_planned_su(PG_FUNCTION_ARGS)
{
	note_folded();
	PG_RETURN_BOOL(context_uid() != 0 && setting_is_true("pgpolicy.su"));
}

/* The system principal: uid 1 in superuser mode. */
PG_FUNCTION_INFO_V1(pgpolicy_planned_system);
Datum
pgpolicy_planned_system(PG_FUNCTION_ARGS)
{
	note_folded();
	PG_RETURN_BOOL(context_uid() == 1 && setting_is_true("pgpolicy.su"));
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_shadow);
Datum
pgpolicy_planned_shadow(PG_FUNCTION_ARGS)
{
	note_folded();
	PG_RETURN_BOOL(context_uid() != 0 && setting_is_true("pgpolicy.shadow"));
}

/* context_key(): uid|companies|su|profiles|shadow, NULL when uid() is. */
PG_FUNCTION_INFO_V1(pgpolicy_planned_context_key);
Datum
pgpolicy_planned_context_key(PG_FUNCTION_ARGS)
{
	const char *names[] = {"pgpolicy.uid", "pgpolicy.company_ids", "pgpolicy.su",
	"pgpolicy.profiles", "pgpolicy.shadow"};
	StringInfoData key;
	int			i;

	note_folded();
	if (context_uid() == 0)
		PG_RETURN_NULL();
	initStringInfo(&key);
	for (i = 0; i < lengthof(names); i++)
	{
		const char *value = setting(names[i]);

		if (i > 0)
			appendStringInfoChar(&key, '|');
		appendStringInfoString(&key, value == NULL ? "" : value);
	}
	PG_RETURN_TEXT_P(cstring_to_text(key.data));
}

/*
 * Whether the top-level statement is an UPDATE or INSERT, after the bridge's prefix:
 * the pattern of sql/runtime_0004.sql's planned_write(), case-insensitive.
 */
#define WRITE_PATTERN \
	"^\\s*(select\\s+set_config\\('pgpolicy\\.shadow'[^;]*;\\s*)?" \
	"(select\\s+pgpolicy\\.set_context\\([^;]*\\)\\s*;\\s*)?" \
	"(select\\s+pgpolicy\\.set_profiles\\([^;]*\\)\\s*;\\s*)?(update|insert)\\s"

PG_FUNCTION_INFO_V1(pgpolicy_planned_write);
Datum
pgpolicy_planned_write(PG_FUNCTION_ARGS)
{
	note_folded();
	if (debug_query_string == NULL)
		PG_RETURN_BOOL(false);
	PG_RETURN_DATUM(DirectFunctionCall2Coll(texticregexeq, DEFAULT_COLLATION_OID,
											CStringGetTextDatum(debug_query_string),
											CStringGetTextDatum(WRITE_PATTERN)));
}

/* ---------------------------------------------------------------------------------------
 * Readers that query tables: called once per top-level statement being planned.
 */

/* Call a reader with no arguments, NULL-aware. */
static Datum
call_reader(Oid reader, bool *isnull)
{
	FmgrInfo	flinfo;
	Datum		value;

	LOCAL_FCINFO(fcinfo, 0);
	fmgr_info(reader, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, NULL);
	value = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return value;
}

/*
 * The value of the reader `name` (in the schema of the plan-time function `self`) for the
 * statement being planned: from the memo, else read and remembered. Outside planning (a
 * call the planner did not fold) it is read every time.
 */
static Datum
planned_value(Oid self, const char *name, Oid type, bool *isnull)
{
	List	   *qualified = list_make2(makeString(get_namespace_name(get_func_namespace(self))),
									   makeString(pstrdup(name)));
	Oid			reader = LookupFuncName(qualified, 0, NULL, false);
	int16		typlen;
	bool		typbyval;
	Datum		value;
	MemoryContext old;
	int			i;

	if (planning_depth == 0)
		return call_reader(reader, isnull);
	folded = true;
	get_typlenbyval(type, &typlen, &typbyval);
	for (i = 0; i < memo_used; i++)
	{
		if (memo[i].reader == reader)
		{
			*isnull = memo[i].isnull;
			return *isnull ? (Datum) 0 : datumCopy(memo[i].value, typbyval, typlen);
		}
	}
	value = call_reader(reader, isnull);
	if (memo_used < MEMO_SIZE)
	{
		old = MemoryContextSwitchTo(memo_context);
		memo[memo_used].reader = reader;
		memo[memo_used].isnull = *isnull;
		memo[memo_used].value = *isnull ? (Datum) 0 : datumCopy(value, typbyval, typlen);
		memo_used++;
		MemoryContextSwitchTo(old);
	}
	return value;
}

static Datum
planned_reader(FunctionCallInfo fcinfo, const char *name)
{
	Oid			self = fcinfo->flinfo->fn_oid;
	bool		isnull;
	Datum		value = planned_value(self, name, get_func_rettype(self), &isnull);

	if (isnull)
		PG_RETURN_NULL();
	return value;
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_company_ids);
Datum
pgpolicy_planned_company_ids(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, "company_ids");
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_company_id);
Datum
pgpolicy_planned_company_id(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, "company_id");
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_group_ids);
Datum
pgpolicy_planned_group_ids(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, "group_ids");
}

/* Whether the planned user is in any of the groups; false without a uid. */
PG_FUNCTION_INFO_V1(pgpolicy_planned_in_groups);
Datum
pgpolicy_planned_in_groups(PG_FUNCTION_ARGS)
{
	bool		isnull;
	Datum		groups;
	Datum	   *have,
			   *want;
	bool	   *have_nulls,
			   *want_nulls;
	int			n_have,
				n_want,
				i,
				j;

	groups = planned_value(fcinfo->flinfo->fn_oid, "group_ids", INT4ARRAYOID, &isnull);
	if (isnull || PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	deconstruct_array(DatumGetArrayTypeP(groups), INT4OID, 4, true, TYPALIGN_INT,
					  &have, &have_nulls, &n_have);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), INT4OID, 4, true, TYPALIGN_INT,
					  &want, &want_nulls, &n_want);
	for (i = 0; i < n_want; i++)
		for (j = 0; j < n_have; j++)
			if (!want_nulls[i] && !have_nulls[j]
				&& DatumGetInt32(want[i]) == DatumGetInt32(have[j]))
				PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(false);
}

/* set_context(), set_profiles(): invalidate this backend's plans with folded values. */
PG_FUNCTION_INFO_V1(pgpolicy_forget_context_plans);
Datum
pgpolicy_forget_context_plans(PG_FUNCTION_ARGS)
{
	CallSyscacheCallbacks(PROCOID, folded_hash());
	PG_RETURN_VOID();
}
