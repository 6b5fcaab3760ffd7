import * as core from '@actions/core';
import { run } from './main.js';
import { runPost } from './post.js';

// The same bundle is the action's main and post step; main marks the state so the second run is the post.
await (core.getState('isPost') === 'true' ? runPost() : run());
// Outputs, state and the summary are written by now; idle keep-alive sockets of the HTTP clients must not hold
// the step open.
process.exit();
