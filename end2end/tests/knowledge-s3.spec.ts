import { expect, test } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, signUp } from "../support/auth";
import { docx } from "../support/documents";
import { itemRow, newRepository, search, unique } from "../support/knowledge";

// Runs against a second server that keeps knowledge files in S3 (moto), on its own empty
// database (see playwright.config.ts, project "s3").
const bucketHost = new URL(process.env.MOTO_URL ?? "http://127.0.0.1:5055").host;

test("with S3 storage the browser uploads straight to the bucket and the item is processed", async ({
  page,
}) => {
  test.setTimeout(120_000);
  await signUp(page, ADMIN.email, ADMIN.name);
  await newRepository(page, `Geology ${unique()}`);

  const name = `volcanoes-${unique()}.docx`;
  const toBucket = page.waitForRequest(
    (request) => request.method() === "PUT" && new URL(request.url()).host === bucketHost,
  );
  await page.locator("#knowledge-files").setInputFiles([
    {
      name,
      mimeType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      buffer: docx("Volcanoes", [
        "Magma rises through the crust and erupts as lava.",
        "Pumice is a rock so light that it floats on water.",
      ]),
    },
    { name: "huge.txt", mimeType: "text/plain", buffer: Buffer.alloc(6_000_000, "a") },
  ]);
  // The file goes to the bucket itself, with a presigned URL, not through the server.
  const put = await toBucket;
  expect(new URL(put.url()).pathname).toMatch(/\/repositories\/[0-9a-f-]{36}\/[0-9a-f-]{36}\//);
  expect((await put.response())?.status()).toBe(200);

  const uploads = page.getByRole("list", { name: "Uploads" });
  await expect(uploads.getByText("Uploaded")).toHaveCount(1);
  // Too large is refused before anything is sent.
  await expect(
    uploads.getByRole("alert").filter({ hasText: "huge.txt is larger than the 5.0 MB allowed." }),
  ).toBeVisible();

  await expect(itemRow(page, name)).toContainText(/Ready · \d+ chunks?/, { timeout: 90_000 });
  const hits = await search(page, "pumice floats", "By words");
  await expect(hits.first()).toContainText("Pumice is a rock so light");

  // The original comes back from the bucket.
  const download = await page.request.get(
    (await itemRow(page, name).getByRole("link", { name }).getAttribute("href")) ?? "",
  );
  expect(download.status()).toBe(200);
  expect((await download.body()).subarray(0, 2).toString()).toBe("PK");
  await expectAccessible(page);
});
