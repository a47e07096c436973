import { expect, test as setup } from "@playwright/test";

import { expectAccessible } from "../support/a11y";
import { ADMIN, rolesShown, signUp } from "../support/auth";

// Runs once, before every other project, on the empty database the test server starts with.
setup("the first account on an empty database becomes administrator", async ({ page }) => {
  await signUp(page, ADMIN.email, ADMIN.name);
  expect(await rolesShown(page, ADMIN.name)).toContain("administrator");
  await expectAccessible(page);
});
