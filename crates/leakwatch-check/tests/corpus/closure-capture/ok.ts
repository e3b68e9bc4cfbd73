interface Upload {
  id: string;
  buffer: Buffer;
}

export function trackProgress(upload: Upload): NodeJS.Timeout {
  const { id } = upload;
  return setInterval(() => console.log('uploading', id), 500);
}
