import type { CommandHandler } from './context.js';
import { buildImage } from './image.js';
import { resultOf } from './locate.js';

export const build: CommandHandler = async (context) => {
  const { config } = context;
  const built = await buildImage(context);
  const report = {
    command: 'build',
    model: config.model ?? config.build.repository ?? '',
    namespace: config.namespace ?? '',
    verdict: 'built' as const,
    image: built.image,
    digest: built.digest,
    tags: built.tags,
    bytesUploaded: built.bytesUploaded,
    ...(built.modelSource ? { modelSource: built.modelSource } : {}),
    gates: [],
    steps: [],
  };
  const text = `${config.dryRun ? 'dry run: would push' : 'pushed'} ${built.image}${built.tags.length ? ` (tags ${built.tags.join(', ')})` : ' (no tag)'}`;
  return resultOf(report, text, context);
};
