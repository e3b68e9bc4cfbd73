interface Upload {
  id: string;
  buffer: Buffer;
}

export function trackProgress(upload: Upload): NodeJS.Timeout {
  return setInterval(() => console.log('uploading', upload.id), 500); // expect: closure-capture
}
