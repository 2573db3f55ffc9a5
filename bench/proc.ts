// What the kernel says a process (or the whole machine) used: CPU seconds from /proc/<pid>/stat
// (utime + stime, all threads), resident memory from /proc/<pid>/status (VmRSS), and machine-wide
// busy time from /proc/stat so a run can say how much CPU other processes took while it measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}

export const CLOCK_TICKS = clockTicks();

/** utime + stime of a process in seconds; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** Resident set size in bytes (VmRSS); NaN once the process is gone. */
export function rssBytes(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1_024 : NaN;
  } catch {
    return NaN;
  }
}

/** Busy CPU seconds of the whole machine since boot (all cores): everything but idle and iowait. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const [, ...values] = line.trim().split(/\s+/);
  const ticks = values.map(Number);
  const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return (total - ticks[3] - ticks[4]) / CLOCK_TICKS;
}

export function loadAverage(): number {
  return loadavg()[0];
}

/** CPU readings of a set of named processes plus the machine, taken together. */
export interface CpuReading {
  at: number;
  byName: Record<string, number>;
  machine: number;
}

export function readCpu(pids: Record<string, number | undefined>): CpuReading {
  const byName: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) byName[name] = cpuSeconds(pid);
  return { at: performance.now(), byName, machine: machineBusySeconds() };
}

/** CPU seconds each process used between two readings, and what the rest of the machine used. */
export function cpuBetween(before: CpuReading, after: CpuReading): { seconds: number; byName: Record<string, number>; others: number } {
  const byName: Record<string, number> = {};
  let ours = 0;
  for (const name of Object.keys(before.byName)) {
    byName[name] = after.byName[name] - before.byName[name];
    if (Number.isFinite(byName[name])) ours += byName[name];
  }
  return { seconds: (after.at - before.at) / 1_000, byName, others: Math.max(0, after.machine - before.machine - ours) };
}
