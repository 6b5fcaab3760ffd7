import * as core from '@actions/core';

// The same bundle is the action's main and post step; main marks the state so the second run is the post. Each
// loads only its own code.
await (core.getState('isPost') === 'true' ? (await import('./post.js')).runPost() : (await import('./main.js')).run());
// Outputs, state and the summary are written by now; idle keep-alive sockets of the HTTP clients must not hold
// the step open.
process.exit();
