/**
 * The one place to point the mini-program at a server.
 *
 * - Local development: `yiyue demo --port 8000` and keep the default below. In WeChat DevTools tick
 *   详情 → 本地设置 → "不校验合法域名、web-view（业务域名）、TLS 版本以及 HTTPS 证书".
 * - A phone on the same network (真机调试): use the computer's LAN address, e.g. http://192.168.1.20:8000.
 * - Production: the HTTPS API host, which must also be listed as a request 合法域名 in mp.weixin.qq.com.
 */
module.exports = {
  baseUrl: 'http://127.0.0.1:8000',
  /** Milliseconds before wx.request gives up (then "网络连接失败" is shown). */
  timeout: 15000,
  /**
   * true: log in, subscribe and pay through the fake WeChat that `yiyue demo` serves at
   * <baseUrl>/__wechat__ (codes from the real wx.login mean nothing to it). Must be false for a real
   * appid against a production server.
   */
  fakeWechat: true,
  /** Filter choices on the home page. The API has no facets endpoint yet, so cities seen in results are added. */
  cities: ['北京', '上海', '广州', '深圳', '杭州', '成都'],
  levels: ['三级甲等', '三级乙等', '二级甲等', '二级乙等', '一级'],
}
