// The commit a build comes from, outside GitHub Actions (where GITHUB_SHA says it): `git rev-parse HEAD` in a folder.
import { execFile } from 'node:child_process';

/** The folder's HEAD commit, or why there is none (not a git repository, no commit yet, git not installed). */
export function gitHead(cwd: string): Promise<{ sha: string } | { why: string }> {
  return new Promise((resolve) => {
    execFile('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd, timeout: 10_000 }, (error, stdout, stderr) => {
      const sha = String(stdout).trim();
      if (!error && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha)) return resolve({ sha });
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return resolve({ why: 'git is not installed' });
      const message = String(stderr).trim().split('\n')[0] ?? '';
      resolve({
        why: /not a git repository/i.test(message)
          ? `${cwd} is not a git repository`
          : message
            ? `git rev-parse HEAD failed in ${cwd}: ${message}`
            : `${cwd} has no commit yet`,
      });
    });
  });
}

/** The committer time of the folder's HEAD commit (`git log -1 --format=%ct`), or undefined when there is none. */
export function gitCommitTime(cwd: string): Promise<Date | undefined> {
  return new Promise((resolve) => {
    execFile('git', ['log', '-1', '--format=%ct', 'HEAD'], { cwd, timeout: 10_000 }, (error, stdout) => {
      const seconds = String(stdout).trim();
      resolve(!error && /^[0-9]+$/.test(seconds) ? new Date(Number(seconds) * 1000) : undefined);
    });
  });
}
