// Test fixture.
