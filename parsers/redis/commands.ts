/**
 * `db.query.text` for Redis: the command with its values redacted (SEMCONV.md: "command with values
 * redacted by default"). The key (first argument) of data commands is kept, like OTel's Redis
 * instrumentations do; every other argument becomes `?`. Commands whose arguments are secrets or
 * code (AUTH, HELLO, MIGRATE, ACL, EVAL...) keep none; commands with a subcommand keep the subcommand.
 */

/** Every argument redacted. */
const NO_ARGS = new Set(['AUTH', 'HELLO', 'MIGRATE', 'EVAL', 'EVALSHA', 'EVAL_RO', 'EVALSHA_RO', 'FCALL', 'FCALL_RO', 'ECHO', 'PUBLISH', 'SPUBLISH']);
/** The first argument is a subcommand (kept), the rest redacted. */
const SUBCOMMANDS = new Set(['CLIENT', 'CONFIG', 'CLUSTER', 'COMMAND', 'OBJECT', 'MEMORY', 'SCRIPT', 'FUNCTION', 'ACL', 'DEBUG', 'MODULE', 'PUBSUB', 'XINFO', 'XGROUP', 'LATENCY', 'SLOWLOG', 'INFO']);
/** Commands without a key: their arguments are all redacted (SELECT keeps its index). */
const KEYLESS = new Set(['PING', 'SELECT', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PSUBSCRIBE', 'PUNSUBSCRIBE', 'SSUBSCRIBE', 'SUNSUBSCRIBE', 'MULTI', 'EXEC', 'DISCARD', 'QUIT', 'RESET', 'FLUSHDB', 'FLUSHALL', 'DBSIZE', 'SCAN', 'KEYS', 'WAIT', 'SHUTDOWN', 'SAVE', 'BGSAVE', 'TIME', 'LASTSAVE', 'ROLE', 'MONITOR', 'SWAPDB', 'REPLICAOF', 'SLAVEOF']);

/** Arguments shown at most (the rest are summarised as "..."). */
const MAX_SHOWN = 8;

/**
 * `cmd` with `args` arguments, of which the first ones' text is in `kept[1..]` (kept[0] is the
 * command itself).
 */
export function querySummary(cmd: string, kept: readonly string[], args: number, keptCount: number): string {
  if (args <= 0) return cmd;
  let out = cmd;
  let shown = 0;
  let from = 1;
  if (SUBCOMMANDS.has(cmd)) {
    out += ` ${kept[1].toUpperCase()}`;
    from = 2;
    shown = 1;
  } else if (cmd === 'SELECT') {
    return /^[0-9]{1,5}$/.test(kept[1]) ? `SELECT ${kept[1]}` : 'SELECT ?';
  } else if (!NO_ARGS.has(cmd) && !KEYLESS.has(cmd) && keptCount > 1) {
    out += ` ${kept[1]}`;
    from = 2;
    shown = 1;
  }
  for (let i = from; i <= args; i++) {
    if (shown >= MAX_SHOWN) {
      out += ' ...';
      break;
    }
    out += ' ?';
    shown++;
  }
  return out;
}
