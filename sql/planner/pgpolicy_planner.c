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
 *     compute them (uid(), su(), context_key(), ...); uid(), su() and context_key()
 *     themselves, which the context gate and the readers call, are the same C code;
 *   - the companies and groups are read with the queries of the SQL readers
 *     (company_ids(), company_id(), group_ids()), through SPI with plans kept for the
 *     session, once per top-level statement being planned, and reused by every call site
 *     of that statement. The memo lives in this backend's memory, which no SQL role can
 *     write, and is emptied when the next top-level statement is planned;
 *   - a plan into which a value was folded carries an invalidation item, and
 *     pgpolicy.forget_context_plans() (called by set_context() and set_profiles())
 *     invalidates exactly those plans, in this backend only, where DISCARD PLANS drops
 *     every cached plan of the session, the readers' own among them. The plan being made
 *     while the library loads went through no hook of ours: the first call of the
 *     session forgets every cached plan, as DISCARD PLANS;
 *   - a context counts only when sealed (runtime 6): the settings, bound to the
 *     transaction, are the text pgpolicy.sealed_context() authenticates. The text is
 *     built here as sql/runtime_0006.sql's context_message() builds it; whether its seal
 *     matches is asked of sealed_context() (the key is readable by the runtime's owner
 *     only) once per text and seal, and remembered in this backend's memory;
 *   - the seal may not change while a top-level statement is planned (a function the
 *     planner evaluates calling set_config): values folded before and after would belong
 *     to two contexts. The statement fails.
 *
 * tests/test_planner.py compares every value with the SQL implementation's, on valid and
 * malformed contexts.
 *
 * The context gate of every protected table is unchanged: a plan kept past a context
 * changed without set_context() returns no rows, as with the SQL functions.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "nodes/plannodes.h"
#include "optimizer/planner.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/syscache.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

#define MEMO_SIZE 3				/* company_ids, company_id, group_ids */

typedef Datum (*Reader) (Oid self, bool *isnull);

typedef struct MemoEntry
{
	Reader		reader;
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

/* The seal when the top-level statement being planned started to be planned (or NULL). */
static char *planning_seal = NULL;

/* No plan of this session was made with our hook yet: forget them all once. */
static bool unmarked_plans = true;

static const char *setting(const char *name);

/* Whether two settings, each possibly missing, are the same text. */
static bool
same_setting(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

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
		const char *seal = setting("pgpolicy.seal");

		MemoryContextReset(memo_context);
		memo_used = 0;
		planning_seal = seal == NULL ? NULL : MemoryContextStrdup(memo_context, seal);
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
	if (planning_depth == 0 && !same_setting(planning_seal, setting("pgpolicy.seal")))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("pgpolicy: the context changed while the statement was planned")));
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

/* One part of the sealed text: <length in characters>:<text>; (context_part()). */
static void
append_part(StringInfo text, const char *value)
{
	if (value == NULL)
		value = "";
	appendStringInfo(text, "%d:%s;", pg_mbstrlen(value), value);
}

/*
 * The text context_message() builds: the backend, the transaction's start in microseconds
 * since the Unix epoch, then the settings of the context.
 */
static char *
context_message(void)
{
	const char *names[] = {"pgpolicy.uid", "pgpolicy.company_ids", "pgpolicy.su",
	"pgpolicy.profiles", "pgpolicy.shadow", "pgpolicy.lock"};
	StringInfoData text;
	char		number[32];
	int			i;

	initStringInfo(&text);
	snprintf(number, sizeof(number), "%d", MyProcPid);
	append_part(&text, number);
	snprintf(number, sizeof(number), INT64_FORMAT,
			 (int64) GetCurrentTransactionStartTimestamp() +
			 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC);
	append_part(&text, number);
	for (i = 0; i < lengthof(names); i++)
		append_part(&text, setting(names[i]));
	return text.data;
}

/* The last text and seal asked about, and the answer. */
static char *checked_message = NULL;
static char *checked_seal = NULL;
static bool checked_sealed = false;

/* sealed_context(), asked through the function manager (no privilege check). */
static char *
ask_sealed_context(void)
{
	Oid			function = LookupFuncName(list_make2(makeString("pgpolicy"),
													 makeString("sealed_context")),
										  0, NULL, true);
	FmgrInfo	flinfo;
	Datum		result;

	LOCAL_FCINFO(fcinfo, 0);

	if (!OidIsValid(function))
		return NULL;
	fmgr_info(function, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, NULL);
	result = FunctionCallInvoke(fcinfo);
	if (fcinfo->isnull)
		return NULL;
	return text_to_cstring(DatumGetTextPP(result));
}

/*
 * A function of the runtime without arguments, asked through the function manager (no
 * privilege check); *isnull when it returns NULL or does not exist (runtime before 9).
 */
static Datum
ask_runtime(const char *name, bool *isnull)
{
	Oid			function = LookupFuncName(list_make2(makeString("pgpolicy"),
													 makeString(pstrdup(name))),
										  0, NULL, true);
	FmgrInfo	flinfo;
	Datum		result;

	LOCAL_FCINFO(fcinfo, 0);

	*isnull = true;
	if (!OidIsValid(function))
		return (Datum) 0;
	fmgr_info(function, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, NULL);
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/*
 * Whether session_user is an analyst login (runtime 9): its context is the mapping's, read
 * by the SQL readers of sql/runtime_0009.sql; the settings count for nothing.
 */
static TimestampTz analyst_checked_at = 0;	/* the transaction the answer is for */
static Oid	analyst_checked_for = InvalidOid;	/* and the session user */
static bool analyst_answer = false;

static bool
analyst_session(void)
{
	bool		isnull;
	Datum		answer;

	/* asked once per transaction: the mapping changes count from the next one */
	if (analyst_checked_at != 0 && analyst_checked_at == GetCurrentTransactionStartTimestamp()
		&& analyst_checked_for == GetSessionUserId())
		return analyst_answer;
	answer = ask_runtime("analyst_session", &isnull);
	analyst_answer = !isnull && DatumGetBool(answer);
	analyst_checked_at = GetCurrentTransactionStartTimestamp();
	analyst_checked_for = GetSessionUserId();
	return analyst_answer;
}

/*
 * The sealed text of the context, or NULL when the settings were not written by
 * set_context() in this transaction.
 */
static char *
sealed_message(void)
{
	const char *seal = setting("pgpolicy.seal");
	char	   *message;
	char	   *answer;

	if (seal == NULL || strlen(seal) != 64)
		return NULL;
	message = context_message();
	if (checked_message == NULL || strcmp(checked_message, message) != 0
		|| strcmp(checked_seal, seal) != 0)
	{
		answer = ask_sealed_context();
		if (checked_message != NULL)
		{
			pfree(checked_message);
			pfree(checked_seal);
		}
		checked_message = MemoryContextStrdup(TopMemoryContext, message);
		checked_seal = MemoryContextStrdup(TopMemoryContext, seal);
		checked_sealed = answer != NULL && strcmp(answer, message) == 0;
	}
	return checked_sealed ? message : NULL;
}

/* uid(): the uid when the context is sealed and in set_context's form, else 0 (NULL). */
static int32
context_uid(void)
{
	const char *uid = setting("pgpolicy.uid");
	const char *companies = setting("pgpolicy.company_ids");
	const char *su = setting("pgpolicy.su");

	if (analyst_session())
	{
		bool		isnull;
		Datum		analyst_uid = ask_runtime("analyst_uid", &isnull);

		return isnull ? 0 : DatumGetInt32(analyst_uid);
	}
	if (uid == NULL || companies == NULL || su == NULL)
		return 0;
	if (sealed_message() == NULL)
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

	/* su and shadow: never for an analyst, whatever its settings say */
	return value != NULL && strcmp(value, "true") == 0 && !analyst_session();
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

/* context_key(): the sealed text, NULL when uid() is. */
static text *
context_key(void)
{
	char	   *message;

	if (context_uid() == 0)
		return NULL;
	if (analyst_session())
	{
		bool		isnull;
		Datum		key = ask_runtime("sealed_context", &isnull);

		return isnull ? NULL : DatumGetTextPCopy(key);
	}
	message = sealed_message();
	return message == NULL ? NULL : cstring_to_text(message);
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_context_key);
Datum
pgpolicy_planned_context_key(PG_FUNCTION_ARGS)
{
	text	   *key = context_key();

	note_folded();
	if (key == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(key);
}

/*
 * The run-time readers uid(), su() and context_key() (STABLE): the same values, read when
 * called. The context gate calls context_key() once per statement, when it runs.
 */
PG_FUNCTION_INFO_V1(pgpolicy_uid);
Datum
pgpolicy_uid(PG_FUNCTION_ARGS)
{
	int32		uid = context_uid();

	if (uid == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(uid);
}

PG_FUNCTION_INFO_V1(pgpolicy_su);
Datum
pgpolicy_su(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(context_uid() != 0 && setting_is_true("pgpolicy.su"));
}

PG_FUNCTION_INFO_V1(pgpolicy_context_key);
Datum
pgpolicy_context_key(PG_FUNCTION_ARGS)
{
	text	   *key = context_key();

	if (key == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(key);
}

/*
 * Whether the top-level statement is an UPDATE or INSERT, after the bridge's prefix:
 * the pattern of sql/runtime_0006.sql's planned_write(), case-insensitive.
 */
#define WRITE_PATTERN \
	"^\\s*(close\\s+all\\s*;\\s*)?" \
	"(select\\s+set_config\\('pgpolicy\\.shadow'[^;]*;\\s*)?" \
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
 * The values that query tables: the queries of runtime_0005.sql's company_ids(),
 * company_id() and group_ids(), run through SPI with plans kept for the session, as the
 * owner of the plan-time functions (the runtime's installer, a superuser: it reads past
 * row-level security, as those SECURITY DEFINER readers do). Every operator and function
 * is schema-qualified, so the caller's search_path cannot change what they run. Each is
 * computed once per top-level statement being planned (the memo).
 */

/* One row, one column of a kept query with the uid as $1, as the owner of `self`. */
static Datum
owner_query(Oid self, SPIPlanPtr *plan, const char *query, int32 uid, bool *isnull)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(uid)};
	Datum		value = (Datum) 0;
	Oid			caller;
	int			security;
	HeapTuple	proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(self));
	Oid			owner;

	if (!HeapTupleIsValid(proc))
		elog(ERROR, "pgpolicy_planner: cache lookup failed for function %u", self);
	owner = ((Form_pg_proc) GETSTRUCT(proc))->proowner;
	ReleaseSysCache(proc);
	*isnull = true;
	GetUserIdAndSecContext(&caller, &security);
	SetUserIdAndSecContext(owner, security | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pgpolicy_planner: SPI_connect failed");
		if (*plan == NULL)
		{
			SPIPlanPtr	prepared = SPI_prepare(query, 1, argtypes);

			if (prepared == NULL)
				elog(ERROR, "pgpolicy_planner: cannot prepare %s: %s", query,
					 SPI_result_code_string(SPI_result));
			SPI_keepplan(prepared);
			*plan = prepared;
		}
		if (SPI_execute_plan(*plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "pgpolicy_planner: %s failed", query);
		if (SPI_processed == 1)
		{
			TupleDesc	desc = SPI_tuptable->tupdesc;
			Form_pg_attribute column = TupleDescAttr(desc, 0);

			value = SPI_getbinval(SPI_tuptable->vals[0], desc, 1, isnull);
			if (!*isnull)
				value = SPI_datumTransfer(value, column->attbyval, column->attlen);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(caller, security);
	}
	PG_END_TRY();
	return value;
}

static SPIPlanPtr allowed_companies_plan = NULL;
static SPIPlanPtr main_company_plan = NULL;
static SPIPlanPtr groups_plan = NULL;

/* The ids of an int4[] that has no NULL (what the queries below return). */
static int32 *
int4_items(Datum array, int *count)
{
	ArrayType  *items = DatumGetArrayTypeP(array);

	*count = ArrayGetNItems(ARR_NDIM(items), ARR_DIMS(items));
	return (int32 *) ARR_DATA_PTR(items);
}

static Datum
int4_array(int32 *ids, int count)
{
	Datum	   *items = palloc(sizeof(Datum) * Max(count, 1));
	int			i;

	for (i = 0; i < count; i++)
		items[i] = Int32GetDatum(ids[i]);
	return PointerGetDatum(construct_array(items, count, INT4OID, 4, true, TYPALIGN_INT));
}

/*
 * company_ids(): the given companies in the given order when each is an active company of
 * the user, all of them (sequence, name, id) for 'default', else NULL.
 */
static Datum
read_company_ids(Oid self, bool *isnull)
{
	int32		uid = context_uid();
	const char *given;
	Datum		allowed;
	int32	   *allowed_ids = NULL;
	int			n_allowed = 0;
	int32	   *given_ids;
	int			n_given = 0;
	bool		none;
	const char *next;
	char	   *end;
	int			i,
				j;

	*isnull = true;
	if (uid == 0)
		return (Datum) 0;
	if (analyst_session())
		return ask_runtime("analyst_company_ids", isnull);
	allowed = owner_query(self, &allowed_companies_plan,
						  "SELECT pg_catalog.array_agg(c.id ORDER BY c.sequence, c.name, c.id) "
						  "FROM public.res_company_users_rel r "
						  "JOIN public.res_company c ON c.id OPERATOR(pg_catalog.=) r.cid "
						  "WHERE r.user_id OPERATOR(pg_catalog.=) $1 AND c.active",
						  uid, &none);
	if (!none)
		allowed_ids = int4_items(allowed, &n_allowed);
	given = setting("pgpolicy.company_ids");
	*isnull = false;
	if (strcmp(given, "default") == 0)
		return none ? int4_array(NULL, 0) : allowed;
	/* context_uid() checked the form: ids separated by commas */
	given_ids = palloc(sizeof(int32) * (strlen(given) / 2 + 1));
	for (next = given;; next = end + 1)
	{
		given_ids[n_given++] = (int32) strtol(next, &end, 10);
		if (*end != ',')
			break;
	}
	for (i = 0; i < n_given; i++)
	{
		for (j = 0; j < n_allowed && allowed_ids[j] != given_ids[i]; j++)
			;
		if (j == n_allowed)
		{
			*isnull = true;
			return (Datum) 0;
		}
	}
	return int4_array(given_ids, n_given);
}

/* company_id(): the user's main company for 'default', else the first company given. */
static Datum
read_company_id(Oid self, bool *isnull)
{
	const char *given = setting("pgpolicy.company_ids");
	Datum		ids;
	int32	   *items;
	int			count;

	if (given != NULL && strcmp(given, "default") == 0 && !analyst_session())
		return owner_query(self, &main_company_plan,
						   "SELECT u.company_id FROM public.res_users u "
						   "WHERE u.id OPERATOR(pg_catalog.=) $1",
						   context_uid(), isnull);
	ids = read_company_ids(self, isnull);
	if (*isnull)
		return (Datum) 0;
	items = int4_items(ids, &count);
	*isnull = count == 0;
	return *isnull ? (Datum) 0 : Int32GetDatum(items[0]);
}

/* group_ids(): the user's groups (res_groups_users_rel), sorted; NULL without a uid. */
static Datum
read_group_ids(Oid self, bool *isnull)
{
	int32		uid = context_uid();
	Datum		groups;

	*isnull = true;
	if (uid == 0)
		return (Datum) 0;
	groups = owner_query(self, &groups_plan,
						 "SELECT pg_catalog.array_agg(g.gid ORDER BY g.gid) "
						 "FROM public.res_groups_users_rel g WHERE g.uid OPERATOR(pg_catalog.=) $1",
						 uid, isnull);
	if (*isnull)
	{
		*isnull = false;
		return int4_array(NULL, 0);
	}
	return groups;
}

/*
 * The reader's value for the statement being planned: from the memo, else read and
 * remembered. Outside planning (a call the planner did not fold), read every time.
 */
static Datum
planned_value(Oid self, Reader reader, Oid type, bool *isnull)
{
	int16		typlen;
	bool		typbyval;
	Datum		value;
	MemoryContext old;
	int			i;

	if (planning_depth == 0)
		return reader(self, isnull);
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
	value = reader(self, isnull);
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
planned_reader(FunctionCallInfo fcinfo, Reader reader, Oid type)
{
	bool		isnull;
	Datum		value = planned_value(fcinfo->flinfo->fn_oid, reader, type, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	return value;
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_company_ids);
Datum
pgpolicy_planned_company_ids(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, read_company_ids, INT4ARRAYOID);
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_company_id);
Datum
pgpolicy_planned_company_id(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, read_company_id, INT4OID);
}

PG_FUNCTION_INFO_V1(pgpolicy_planned_group_ids);
Datum
pgpolicy_planned_group_ids(PG_FUNCTION_ARGS)
{
	return planned_reader(fcinfo, read_group_ids, INT4ARRAYOID);
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

	groups = planned_value(fcinfo->flinfo->fn_oid, read_group_ids, INT4ARRAYOID, &isnull);
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
	if (unmarked_plans)
	{
		/*
		 * Plans made before the library was loaded, the one loading it among them. (A
		 * generated function folds nothing into a plan it keeps: one that calls another
		 * runs its query with EXECUTE, pgpolicy/compiler/predicate.py, function_source.)
		 */
		ResetPlanCache();
		unmarked_plans = false;
	}
	else
		CallSyscacheCallbacks(PROCOID, folded_hash());
	PG_RETURN_VOID();
}
