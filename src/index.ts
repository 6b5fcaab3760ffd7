import * as core from '@actions/core';
import { run } from './main.js';
import { runPost } from './post.js';

// The same bundle is the action's main and post step; main marks the state so the second run is the post.
await (core.getState('isPost') === 'true' ? runPost() : run());
