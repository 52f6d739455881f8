// Files of a folder the user picked with <input webkitdirectory>: each carries its path under the
// picked folder's parent in webkitRelativePath ("folder/images/0.png"); a plain list has names only.

/** The picked files by their path inside the folder ("images/0.png"). */
export function filesByPath(files: readonly File[]): Map<string, File> {
  const byPath = new Map<string, File>();
  for (const file of files) {
    const path = file.webkitRelativePath || file.name;
    byPath.set(path.includes('/') ? path.replace(/^[^/]+\//, '') : path, file);
  }
  return byPath;
}

/** The picked folder's own name, or `fallback` when the files carry no folder path. */
export function pickedFolderName(files: readonly File[], fallback: string): string {
  return files[0]?.webkitRelativePath.split('/')[0] || fallback;
}
