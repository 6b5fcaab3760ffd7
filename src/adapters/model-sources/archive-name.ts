// Which file names are archives the downloader unpacks (.tar, .tar.gz, .tgz), and the name without the extension.
const ARCHIVE_EXTENSION = /\.(tar\.gz|tgz|tar)$/i;

export function isArchiveName(name: string): boolean {
  return ARCHIVE_EXTENSION.test(name);
}

export function withoutArchiveExtension(name: string): string {
  return name.replace(ARCHIVE_EXTENSION, '');
}
