// zod's settings, imported (for its effect) ahead of every module that builds a schema, since zod reads them as each
// schema is built. jitless: zod otherwise compiles a parser per object schema with `new Function` on its first parse,
// which pays off over thousands of parses; the CLI and the action parse their config once, and compiling was the
// larger part of that parse.
import * as z from 'zod';

z.config({ jitless: true });
