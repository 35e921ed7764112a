mod google;
mod oauth;
